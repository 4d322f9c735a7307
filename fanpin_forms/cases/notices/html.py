"""The county announcement as one HTML page for the government website (``notice.html``, autoescaped)."""

from __future__ import annotations

from importlib.resources import files

import jinja2

from .select import CountyNotice
from .wording import county_text

_PAGE = "notice.html"
_ENV = jinja2.Environment(loader=jinja2.DictLoader({_PAGE: files(__package__).joinpath(_PAGE).read_text("utf-8")}),
                          autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def county_html(notice: CountyNotice) -> str:
    """The county announcement as one HTML page: every value escaped by Jinja."""
    columns = notice.style.columns("county")
    headings = notice.style.headings()
    return _ENV.get_template(_PAGE).render(t=county_text(notice), columns=columns,
                                           headings=[headings[c] for c in columns])
