"""Griffe extension for the API reference: Sphinx roles in docstrings as code spans.

The package's docstrings are Google style with a few Sphinx roles
(``:class:`PPOConfig```, ``:func:`~purejaxppo.make_train```). Markdown has no roles,
so mkdocstrings would print them verbatim; this turns each into an inline code span
(``~`` keeps the last dotted part, as Sphinx does). Loaded by ``mkdocs.yml``
(``extensions:`` of the python handler).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|data|mod|attr|exc|obj|const):`(~?)([^`]+)`")


def strip_roles(text: str) -> str:
    """``:class:`~a.b.C``` -> ```C```, ``:func:`a.f``` -> ```a.f```."""

    def code(m: re.Match[str]) -> str:
        target = m.group(2).strip()
        return f"`{target.rsplit('.', 1)[-1] if m.group(1) else target}`"

    return ROLE.sub(code, text)


class RstRoles(griffe.Extension):
    """Rewrites every docstring once it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = strip_roles(obj.docstring.value)
