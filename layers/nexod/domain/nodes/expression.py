"""What the expression kinds (`transform`, `condition`) share."""

from __future__ import annotations

from typing import Literal

ExpressionLanguage = Literal["jmespath", "jsonata"]
