"""`{{ secrets.NAME.field }}` resolved at the moment of use, and every resolved value remembered for scrubbing.

One `CredentialResolver` serves one node execution: it loads each credential it is asked for once (type from
the workspace's metadata, value from the `Vault`), hands the executor the real string and keeps that string
(and its encoded forms, see `Scrubber.including`) so that the node's recorded input, output, error and log
lines never contain it. The recorded input is rendered separately with `templating.as_reference`, so it
keeps the reference as written.
"""

from __future__ import annotations

from collections.abc import Callable

from ..domain.credentials import pick, secret_ref
from ..domain.errors import InvalidInput
from ..domain.templating import TemplateError, TemplatePath

# name -> (credential type, value), or None when the workspace has no such credential.
CredentialLoader = Callable[[str], tuple[str, dict[str, object]] | None]


class CredentialResolver:
    def __init__(self, load: CredentialLoader) -> None:
        self._load = load
        self._loaded: dict[str, tuple[str, dict[str, object]] | None] = {}
        self.resolved: list[str] = []  # every value handed out, for the scrubber

    @property
    def used(self) -> list[str]:
        """Names of the credentials this execution loaded (for `last_used_at`)."""
        return sorted(name for name, found in self._loaded.items() if found is not None)

    def __call__(self, path: TemplatePath) -> str:
        try:
            ref = secret_ref(path)
        except InvalidInput as exc:
            raise TemplateError(exc.message) from None
        assert ref is not None  # templating calls the resolver for `secrets.` paths only
        if ref.name not in self._loaded:
            self._loaded[ref.name] = self._load(ref.name)
        found = self._loaded[ref.name]
        if found is None:
            raise TemplateError(
                f"'{{{{ {path.text} }}}}': credential '{ref.name}' does not exist in this workspace "
                "(create it on the Credentials page or with POST /v1/workspaces/{ws}/credentials)"
            )
        type_name, value = found
        try:
            text = pick(ref, type_name, value)
        except KeyError as exc:
            raise TemplateError(str(exc.args[0])) from None
        self.resolved.append(text)
        return text
