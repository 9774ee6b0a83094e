"""Committee outputs: the offline map, the printed figure, the report and the PDF committee paper.

:mod:`~geoplan.outputs.style` holds what they draw alike (palette, symbols, plain labels);
:mod:`~geoplan.outputs.committee` measures the views they are drawn from on a
:class:`~geoplan.workspace.Workspace`; :mod:`~geoplan.outputs.maps` (with
:mod:`~geoplan.outputs.leaflet`), :mod:`~geoplan.outputs.figure`, :mod:`~geoplan.outputs.report`
and :mod:`~geoplan.outputs.pdf` draw them.
"""
