"""The static site, as one pipeline: :mod:`~gitruns.site.collect` (runs, histories,
registry tags) → :mod:`~gitruns.site.pages` (page models) → :mod:`~gitruns.site.build` (the build) →
:mod:`~gitruns.site.charts` (Altair) → :mod:`~gitruns.site.render` (Jinja2) →
:mod:`~gitruns.site.output` (written, incrementally); :mod:`~gitruns.site.serve`
serves it while runs change.

Example::

    report = build_site(Path("runs"), Path("site"))
"""

from __future__ import annotations

from gitruns.site.build import CHROMIUM_ARGS, BuildReport, build_site
from gitruns.site.run_pages import commit_link

__all__ = ["CHROMIUM_ARGS", "BuildReport", "build_site", "commit_link"]
