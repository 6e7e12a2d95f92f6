"""Text charts with axes: braille time series from a ``Timeline``, no Textual.

``chart.render`` draws one chart (legend, value scale, plot, axis with ticks and
event marks); ``chart.grid`` lays out many in the space given; ``layouts`` says
which series make the GPUs and serving-metrics charts.
"""
