"""Deterministic sample endpoints (`/demo/*`) that the README and the seeded flows call.

The README promises which branch a city takes, so the weather is a fixed table of well-known cities
(plausible late-summer afternoons) and a hash of the name for any other city: the same city always
gets the same answer, on every machine, forever.
"""

from __future__ import annotations

import hashlib
from typing import Any

HOT_THRESHOLD_C = 25
# city -> (temperature in °C, conditions). Hot (> 25 °C) and mild cities on purpose: the README's weather
# flow takes the `tip` branch for Seville and the `summary` branch for Oslo.
KNOWN_CITIES: dict[str, tuple[int, str]] = {
    "seville": (34, "sunny"),
    "cairo": (36, "clear"),
    "phoenix": (39, "sunny"),
    "athens": (31, "sunny"),
    "lisbon": (23, "clear"),
    "rome": (29, "clear"),
    "madrid": (32, "sunny"),
    "oslo": (14, "cloudy"),
    "reykjavik": (9, "windy"),
    "london": (18, "rain"),
    "berlin": (20, "cloudy"),
    "paris": (22, "clear"),
    "helsinki": (15, "windy"),
    "dublin": (16, "rain"),
}


def demo_weather(city: str) -> dict[str, Any]:
    """The weather for `city`: from the table when known, else derived from a hash of the name."""
    key = city.strip().lower()
    if key in KNOWN_CITIES:
        temperature, conditions = KNOWN_CITIES[key]
    else:
        digest = int(hashlib.sha256(key.encode()).hexdigest(), 16)
        temperature = 5 + digest % 31
        conditions = ["sunny", "cloudy", "rain", "windy", "clear"][digest % 5]
    return {"city": city, "temperature_c": temperature, "conditions": conditions, "hot": temperature > HOT_THRESHOLD_C}
