"""Rendering pages with Jinja2: the user's template folder first, then gitruns' own.

As in mkdocs, a custom folder only needs the templates it changes; the rest
come from the package. Every value is escaped (autoescape); chart specs and
data reach pages only as JSON made safe for HTML.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from gitruns.exceptions import GitrunsError
from gitruns.redact import public_text
from gitruns.registry.tags import NAME_PATTERN, tag_model
from gitruns.version import __version__


def _public(value: Any) -> Any:
    """Every printed value: home folders hidden (the site is public); markup the
    templates mark safe (JSON made safe for HTML) passes unchanged."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return public_text(value)
    return value


def model_page(name: str) -> str | None:
    """The file name of a registered model's page: its name as the tags carry it (GTO's
    grammar, or encoded), with ``/`` written ``~``; None if even that is not in the
    grammar (no page, no path)."""
    carried = tag_model(name)
    if not NAME_PATTERN.match(carried):
        return None
    return carried.replace("/", "~")


class TemplateMissing(GitrunsError):
    error_code = "RESOURCE_DOES_NOT_EXIST"


def package_templates() -> Path:
    return Path(str(resources.files("gitruns.site").joinpath("templates")))


class Renderer:
    def __init__(self, templates: Path | None = None, base_url: str = "") -> None:
        if templates is not None and not templates.is_dir():
            raise TemplateMissing(
                f"the template folder {templates} does not exist. Pass a folder holding the "
                "templates you override (e.g. run.html)."
            )
        self.folders = [*([templates] if templates else []), package_templates()]
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(folder) for folder in self.folders]),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=_public,
        )
        self.environment.filters["model_page"] = model_page
        self.base_url = base_url.rstrip("/")
        sources = []
        for folder in self.folders:
            for path in sorted(folder.glob("*.html")):
                sources.append(f"{path.name}:{path.read_text()}")
        self.key = hashlib.sha1(
            "\x00".join([__version__, self.base_url, *sources]).encode()
        ).hexdigest()

    def page(
        self, template: str, context: dict[str, Any], depth: int, nav: list[dict[str, str]]
    ) -> str:
        try:
            page = self.environment.get_template(template)
        except jinja2.TemplateNotFound as error:
            searched = ", ".join(str(folder) for folder in self.folders)
            raise TemplateMissing(
                f"template {template!r} is in none of the template folders ({searched}). "
                "Copy it from gitruns' own templates into your folder, or remove the override."
            ) from error
        return page.render(
            **context,
            root="../" * depth,
            nav=nav,
            base_url=self.base_url,
            version=__version__,
        )
