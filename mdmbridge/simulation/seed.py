"""Realistic, deterministic fleet data for the simulators.

Swedish names (with å, ä, ö), real-looking Apple and Samsung serial numbers, IMEIs with a
valid Luhn digit, iOS and Android models. The same seed always gives the same fleet, so
cassettes and benchmarks are reproducible. Both simulators draw from here; each one only
shapes the records the way its vendor serialises them.
"""

from __future__ import annotations

import functools
import random
import string
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FIRST_NAMES = (
    "Åsa",
    "Björn",
    "Märta",
    "Örjan",
    "Ängla",
    "Göran",
    "Sofia",
    "Lars",
    "Ingrid",
    "Håkan",
    "Linnéa",
    "Sören",
    "Karin",
    "Ebba",
    "Måns",
    "Tove",
    "Östen",
    "Agnes",
    "Nils",
    "Elsa",
    "Pär",
    "Maja",
    "Anders",
    "Britt-Marie",
    "Jan-Åke",
    "Frida",
    "Olle",
    "Stina",
    "Erik",
)
LAST_NAMES = (
    "Öberg",
    "Åkesson",
    "Lindström",
    "Bäckström",
    "Nyström",
    "Sjögren",
    "Ågren",
    "Karlsson",
    "Håkansson",
    "Löfgren",
    "Strömberg",
    "Wästberg",
    "Andersson",
    "Ekström",
    "Blomqvist",
    "Söderberg",
    "Forsberg",
    "Hägglund",
    "Öhman",
    "Dahlén",
    "Mårtensson",
    "Berg",
    "Nordin",
)
CITIES = ("Göteborg", "Malmö", "Stockholm", "Västerås", "Örebro", "Linköping", "Umeå", "Luleå")
DEPARTMENTS = ("Försäljning", "Ekonomi", "Lager & Logistik", "IT", "Kundtjänst", "Ledning")
TEAMS = ("Team Norr", "Team Söder", "Fält", "Innesälj")
COMPANIES = ("Ångström AB", "Göteborgs Hamn", "Måleri & Bygg AB", "Öresund Data")
POSITIONS = ("Säljare", "Tekniker", "Chef", "Ekonom", "Supporttekniker", "Lagerarbetare")

IOS_MODELS = (
    ("iPhone 15", "17.5.1"),
    ("iPhone 14 Pro", "17.4"),
    ("iPhone 13", "16.7.8"),
    ("iPhone SE (3rd generation)", "17.5.1"),
    ("iPad Air (5th generation)", "17.3"),
    ("iPad (9th generation)", "16.7.2"),
)
ANDROID_MODELS = (
    ("Samsung Galaxy S23", "14"),
    ("Samsung Galaxy A54 5G", "14"),
    ("Samsung Galaxy XCover6 Pro", "13"),
    ("Google Pixel 8", "14"),
    ("Motorola moto g84", "13"),
    ("Zebra TC58", "13"),
)

_ALNUM = string.ascii_uppercase + string.digits
_APPLE_SERIAL_CHARS = "".join(c for c in string.ascii_uppercase + string.digits if c not in "AEIOU")


@functools.lru_cache(maxsize=512)
def ascii_fold(text: str) -> str:
    """'Åsa Öberg' -> 'asa.oberg' style folding, for e-mail local parts."""
    normalized = unicodedata.normalize("NFKD", text)
    return "".join(c for c in normalized if c.isascii() and (c.isalnum() or c in ".-")).lower()


def luhn_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    email: str
    phone: str
    account: str
    department: str
    position: str
    company: str
    office: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Handset:
    platform: str  # "iOS" | "Android"
    model: str
    os_version: str
    serial_number: str
    udid: str
    imei: str | None
    phone_number: str | None
    battery_level: int
    last_seen: datetime
    name: str


class FleetGenerator:
    """Deterministic generator: ``FleetGenerator(seed=1).person(i)`` is stable across runs."""

    def __init__(self, seed: int = 1, *, now: datetime | None = None) -> None:
        self.seed = seed
        self.now = now or datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

    def _rng(self, *key: object) -> random.Random:
        return random.Random(f"{self.seed}:" + ":".join(map(str, key)))

    def person(self, index: int) -> Person:
        rng = self._rng("person", index)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{ascii_fold(first)}.{ascii_fold(last)}{index}"
        return Person(
            first=first,
            last=last,
            email=f"{local}@example.se",
            phone=f"+4670{rng.randrange(1000000, 9999999)}",
            account=local,
            department=rng.choice(DEPARTMENTS),
            position=rng.choice(POSITIONS),
            company=rng.choice(COMPANIES),
            office=rng.choice(CITIES),
        )

    def handset(self, index: int, owner: Person | None = None) -> Handset:
        rng = self._rng("device", index)
        ios = rng.random() < 0.55
        model, os_version = rng.choice(IOS_MODELS if ios else ANDROID_MODELS)
        if ios:
            serial = "".join(rng.choices(_APPLE_SERIAL_CHARS, k=12))
            udid = f"0000{rng.randrange(8020, 8130)}-{rng.getrandbits(64):016X}"
        else:
            serial = "R5" + "".join(rng.choices(_ALNUM, k=9))
            udid = uuid.UUID(int=rng.getrandbits(128)).hex
        has_cell = not model.startswith("iPad") or rng.random() < 0.3
        imei = None
        if has_cell:
            body = "35" + "".join(rng.choices(string.digits, k=12))
            imei = body + luhn_digit(body)
        owner_name = owner.first if owner else "Lager"
        return Handset(
            platform="iOS" if ios else "Android",
            model=model,
            os_version=os_version,
            serial_number=serial,
            udid=udid,
            imei=imei,
            phone_number=f"+4673{rng.randrange(1000000, 9999999)}" if has_cell else None,
            battery_level=rng.randrange(3, 101),
            last_seen=self.now - timedelta(minutes=rng.randrange(0, 60 * 24 * 30)),
            name=f"{owner_name}s {model}",
        )

    def guid(self, *key: object) -> str:
        return str(uuid.UUID(int=self._rng("guid", *key).getrandbits(128), version=4))

    def group_tree(self) -> list[tuple[str, ...]]:
        """Paths of a three-level tree: city / department / team (parents before children)."""
        paths: list[tuple[str, ...]] = []
        rng = self._rng("tree")
        for city in CITIES[:4]:
            paths.append((city,))
            for dept in rng.sample(DEPARTMENTS, 3):
                paths.append((city, dept))
                for team in rng.sample(TEAMS, 2):
                    paths.append((city, dept, team))
        return paths
