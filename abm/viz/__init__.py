"""Interactive browser visualisation of the compute market (Solara / Mesa SolaraViz).

Everything that imports ``solara`` or ``mesa.visualization`` lives in this package,
so the model and the command line stay fast to import. Start the page with
``abm viz [CONFIG]``; ``python -m abm.viz.assets`` fetches the page's front-end
files once, for machines that cannot reach Solara's CDN.
"""
