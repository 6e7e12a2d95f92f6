import sys

from console.publish.build import main

sys.exit(main())
