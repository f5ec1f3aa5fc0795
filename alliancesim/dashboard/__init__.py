"""The alliancesim dashboard: a Solara app for teaching and exploring, one server for a class.

Run it with ``alliancesim dashboard`` (offline, on 127.0.0.1:8765) or
``solara run alliancesim.dashboard.app:page``.

Modules:

* :mod:`~alliancesim.dashboard.app`: the page (run buttons, sidebar, tabs) and its CSS;
* :mod:`~alliancesim.dashboard.controller`: Reset / play / Step, clamped to the end of the run;
* :mod:`~alliancesim.dashboard.live`: views refreshed after a week without re-rendering the page;
* :mod:`~alliancesim.dashboard.svgmap`: the clinic map as SVG, drawn by the browser;
* :mod:`~alliancesim.dashboard.urlstate`: the setup in the page's address;
* :mod:`~alliancesim.dashboard.clinic`: the settings the controls edit, and the model they start;
* :mod:`~alliancesim.dashboard.controls`: sidebar controls generated from the parameter registry;
* :mod:`~alliancesim.dashboard.views`: the tabs (map, time series, relationship, log, handover, ...);
* :mod:`~alliancesim.dashboard.figures`: matplotlib pictures that redraw only what changed;
* :mod:`~alliancesim.dashboard.digest`: what the views read from a model, cached between weeks;
* :mod:`~alliancesim.dashboard.spread`, :mod:`~alliancesim.dashboard.export`: run N times; export;
* :mod:`~alliancesim.dashboard.info`: the Info page;
* :mod:`~alliancesim.dashboard.offline`, :mod:`~alliancesim.dashboard.cli`: serving it without internet.
"""
