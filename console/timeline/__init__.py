"""One time axis for everything the console watches: GPUs, serving metrics, container events.

``Timeline`` holds bounded series and an event list, fed from any thread
(``add``/``add_event`` and the ``ingest_*`` helpers); ``console.charts``
draws them as text. No Textual here: the Metrics pane and the CLI both use it.
"""

from console.timeline.timeline import Event, Series, Timeline

__all__ = ["Event", "Series", "Timeline"]
