"""Seeded Graph records: Entra users and security groups, Intune managed devices, mobile apps.

Built on ``mdmbridge.simulation.seed.FleetGenerator``, so for one seed this tenant holds the
same people (same e-mail addresses) as the DuoSTATION and ezmdm simulators, and its phones
and tablets carry the same serial numbers: device ``i`` here is handset ``i`` there, unless
it is one of the Windows PCs and Macs (about 30%) that only Intune manages.

Records are shaped the way Graph v1.0 serialises them: every documented property present,
``""`` for absent Intune text, ``0001-01-01T00:00:00Z`` for dates that never happened.
"""

from __future__ import annotations

import random
import re
import string
import unicodedata
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from mdmbridge.simulation.seed import FleetGenerator, Person, ascii_fold

Record = dict[str, Any]

NEVER = "0001-01-01T00:00:00Z"
OPEN_ENDED = "9999-12-31T23:59:59Z"
ALL_STAFF = "Alla medarbetare"

WINDOWS_MODELS = (
    ("Dell Inc.", "Latitude 7440", "dell"),
    ("LENOVO", "ThinkPad T14 Gen 4", "lenovo"),
    ("Microsoft Corporation", "Surface Laptop 5", "surface"),
    ("HP", "HP EliteBook 840 G10", "hp"),
)
WINDOWS_VERSIONS = ("10.0.22631.3447", "10.0.22621.3296", "10.0.19045.4291", "10.0.26100.1150")
MAC_MODELS = (
    ("MacBook Pro (14-inch, 2023)", "14.4.1"),
    ("MacBook Air (M2, 2022)", "14.3"),
    ("MacBook Air (M1, 2020)", "13.6.6"),
    ("iMac (24-inch, M3, 2023)", "14.4.1"),
)
CARRIERS = ("Telia", "Tele2", "Telenor", "Tre")
_APPLE_SERIAL = "".join(c for c in string.ascii_uppercase + string.digits if c not in "AEIOU")
_SERVICE_TAG = string.ascii_uppercase + string.digits
_NICKNAME_BAD = re.compile(r"[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+")


def iso(moment: datetime, *, fraction: bool = False) -> str:
    """Graph's UTC timestamps; Intune's enrolment dates carry 7 fractional digits."""
    moment = moment.astimezone(UTC)
    if fraction:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def group_nickname(name: str) -> str:
    """A group ``mailNickname``: ASCII, none of ``@ () \\ [] " ; : . <> , SPACE``, <= 64."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _NICKNAME_BAD.sub("-", folded).strip("-").lower()
    slug = re.sub(r"-{2,}", "-", slug)[:64].strip("-")
    return slug or "group"


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _mac(rng: random.Random) -> str:
    return "".join(f"{rng.randrange(256):02X}" for _ in range(6))


class IntuneSeed:
    """Deterministic records for one seed; every method is a pure function of its index."""

    def __init__(self, seed: int, domain: str, now: datetime | None = None) -> None:
        self.seed = seed
        self.domain = domain
        self.gen = FleetGenerator(seed, now=now)
        self.now = self.gen.now

    def _rng(self, *key: object) -> random.Random:
        return random.Random(f"intune:{self.seed}:" + ":".join(map(str, key)))

    # -------------------------------------------------------------- ids and shape

    def ids(self, kind: str, count: int) -> list[str]:
        """``count`` GUIDs for ``kind``, the same for the same seed (one generator per kind,
        not one per record: seeding 100,000 devices must stay cheap)."""
        rng = self._rng("ids", kind)
        return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)]

    def group_id(self, index: int) -> str:
        return self.gen.guid("intune-group", index)

    def device_kind(self, index: int) -> str:
        """``handset`` (the shared phone or tablet ``index``), ``windows`` or ``macos``."""
        draw = self._rng("kind", index).random()
        if draw < 0.22:
            return "windows"
        if draw < 0.30:
            return "macos"
        return "handset"

    def group_names(self) -> list[tuple[str, str | None]]:
        """``(displayName, description)``: the city / department / team tree as flat names
        joined with " / " (like the ezmdm simulator), then an all-staff group."""
        names: list[tuple[str, str | None]] = []
        for path in self.gen.group_tree():
            description = f"Regionkontor {path[0]}" if len(path) == 1 else None
            names.append((" / ".join(path), description))
        names.append((ALL_STAFF, "Alla anställda, för licenser och appar"))
        return names

    # -------------------------------------------------------------- records

    def person(self, index: int) -> Person:
        return self.gen.person(index)

    def user(self, index: int, user_id: str, person: Person | None = None) -> Record:
        person = person or self.person(index)
        rng = self._rng("user", index)
        created = self.now - timedelta(days=rng.randrange(30, 2000), seconds=rng.randrange(86400))
        return {
            "id": user_id,
            "businessPhones": [],
            "displayName": person.name,
            "givenName": person.first,
            "surname": person.last,
            "mail": person.email,
            "mailNickname": person.account,
            "userPrincipalName": f"{person.account}@{self.domain}",
            "mobilePhone": person.phone,
            "jobTitle": person.position,
            "department": person.department,
            "companyName": person.company,
            "officeLocation": person.office,
            "preferredLanguage": "sv-SE",
            "accountEnabled": rng.random() > 0.04,
            "usageLocation": "SE",
            "employeeId": f"{10000 + index}",
            "createdDateTime": iso(created),
            "passwordProfile": None,
        }

    def device(self, index: int, device_id: str, owner: Record | None) -> Record:
        kind = self.device_kind(index)
        rng = self._rng("device", index)
        owner_first = (owner or {}).get("givenName") or "Lager"
        enrolled = self.now - timedelta(
            days=rng.randrange(20, 900),
            seconds=rng.randrange(86400),
            microseconds=rng.randrange(10**6),
        )
        last_sync = self.now - timedelta(minutes=rng.randrange(0, 60 * 24 * 20))
        if kind == "handset":
            handset = self.gen.handset(index)
            ipad = handset.model.startswith("iPad")
            ios = handset.platform == "iOS"
            manufacturer = "Apple" if ios else _android_maker(handset.model)
            operating_system = ("iPadOS" if ipad else "iOS") if ios else "Android"
            if ios:
                name = f"{owner_first}s {handset.model}"
            else:  # Android Enterprise's default name: user, kind, enrolment date and time
                local = ascii_fold(owner_first) or "lager"
                name = f"{local}_AndroidEnterprise_{_us_stamp(enrolled)}"
            serial, model, os_version = handset.serial_number, handset.model, handset.os_version
            imei, phone = handset.imei or "", handset.phone_number or ""
            udid = handset.udid if ios else ""
            agent, enrollment = "mdm", "appleBulkWithUser" if ios else "userEnrollment"
            storage = rng.choice((64, 128, 256)) * 1_000_000_000
            supervised, patch = ios, "" if ios else f"2024-0{rng.randrange(1, 6)}-01"
            carrier = rng.choice(CARRIERS) if imei else ""
        elif kind == "windows":
            manufacturer, model, style = WINDOWS_MODELS[rng.randrange(len(WINDOWS_MODELS))]
            serial = _windows_serial(rng, style)
            operating_system, os_version = "Windows", rng.choice(WINDOWS_VERSIONS)
            name = f"DESKTOP-{''.join(rng.choices(_SERVICE_TAG, k=7))}"
            imei = phone = udid = carrier = patch = ""
            agent, enrollment, supervised = "mdm", "windowsAzureADJoin", False
            storage = rng.choice((256, 512, 1024)) * 1_000_000_000
        else:
            model, os_version = MAC_MODELS[rng.randrange(len(MAC_MODELS))]
            manufacturer, operating_system = "Apple", "macOS"
            serial = "".join(rng.choices(_APPLE_SERIAL, k=rng.choice((10, 12))))
            name = f"{owner_first}s {model.split(' (')[0]}"
            imei = phone = carrier = patch = ""
            udid = _guid(rng).upper()
            agent, enrollment, supervised = "mdm", "appleBulkWithUser", True
            storage = rng.choice((256, 512, 1024)) * 1_000_000_000
        compliance = rng.choices(("compliant", "noncompliant", "inGracePeriod"), (85, 10, 5))[0]
        upn = (owner or {}).get("userPrincipalName") or ""
        return {
            "@odata.type": "#microsoft.graph.managedDevice",
            "id": device_id,
            "userId": (owner or {}).get("id") or "",
            "deviceName": name,
            "managedDeviceOwnerType": "company" if rng.random() < 0.9 else "personal",
            "deviceActionResults": [],
            "enrolledDateTime": iso(enrolled, fraction=True),
            "lastSyncDateTime": iso(last_sync),
            "operatingSystem": operating_system,
            "complianceState": compliance,
            "jailBroken": "False" if kind == "handset" else "Unknown",
            "managementAgent": agent,
            "osVersion": os_version,
            "easActivated": False,
            "easDeviceId": "",
            "easActivationDateTime": NEVER,
            "azureADRegistered": True,
            "deviceEnrollmentType": enrollment,
            "activationLockBypassCode": None,
            "emailAddress": (owner or {}).get("mail") or "",
            "azureADDeviceId": _guid(rng),
            "deviceRegistrationState": "registered",
            "deviceCategoryDisplayName": "Unknown",
            "isSupervised": supervised,
            "exchangeLastSuccessfulSyncDateTime": NEVER,
            "exchangeAccessState": "none",
            "exchangeAccessStateReason": "none",
            "remoteAssistanceSessionUrl": "",
            "remoteAssistanceSessionErrorDetails": "",
            "isEncrypted": rng.random() < 0.95,
            "userPrincipalName": upn,
            "model": model,
            "manufacturer": manufacturer,
            "imei": imei,
            "complianceGracePeriodExpirationDateTime": OPEN_ENDED,
            "serialNumber": serial,
            "phoneNumber": phone,
            "androidSecurityPatchLevel": patch,
            "userDisplayName": (owner or {}).get("displayName") or "",
            "configurationManagerClientEnabledFeatures": None,
            "wiFiMacAddress": _mac(rng),
            "deviceHealthAttestationState": None,
            "subscriberCarrier": carrier,
            "meid": "",
            "totalStorageSpaceInBytes": storage,
            "freeStorageSpaceInBytes": int(storage * rng.uniform(0.1, 0.7)),
            "managedDeviceName": (
                f"{upn.split('@')[0] or 'lager'}_{operating_system}_{_us_stamp(enrolled)}"
            ),
            "partnerReportedThreatState": "unknown",
            "requireUserEnrollmentApproval": None,
            "managementCertificateExpirationDate": iso(enrolled + timedelta(days=365)),
            "iccid": "8946" + "".join(rng.choices(string.digits, k=15)) if imei else "",
            "udid": udid,
            "notes": None,
            "ethernetMacAddress": _mac(rng) if kind == "windows" else "",
            "physicalMemoryInBytes": rng.choice((4, 8, 16, 32)) * 1_073_741_824,
        }

    def apps(self) -> Iterator[Record]:
        created = iso(self.now - timedelta(days=400), fraction=True)
        modified = iso(self.now - timedelta(days=12), fraction=True)
        base = {
            "largeIcon": None,
            "createdDateTime": created,
            "lastModifiedDateTime": modified,
            "isFeatured": False,
            "privacyInformationUrl": None,
            "informationUrl": None,
            "owner": "",
            "developer": "",
            "notes": "",
            "publishingState": "published",
        }
        ios_min = {
            "@odata.type": "microsoft.graph.iosMinimumOperatingSystem",
            "v8_0": False,
            "v9_0": False,
            "v10_0": False,
            "v11_0": False,
            "v12_0": False,
            "v13_0": False,
            "v14_0": True,
            "v15_0": False,
        }
        both = {"iPad": True, "iPhoneAndIPod": True}
        specs: list[Record] = [
            {
                "@odata.type": "#microsoft.graph.iosStoreApp",
                "displayName": "Microsoft Outlook",
                "description": "E-post och kalender.",
                "publisher": "Microsoft Corporation",
                "bundleId": "com.microsoft.Office.Outlook",
                "appStoreUrl": "https://apps.apple.com/se/app/microsoft-outlook/id951937596",
                "applicableDeviceType": both,
                "minimumSupportedOperatingSystem": ios_min,
            },
            {
                "@odata.type": "#microsoft.graph.iosStoreApp",
                "displayName": "Microsoft Teams",
                "description": "Chatt, möten och samtal.",
                "publisher": "Microsoft Corporation",
                "bundleId": "com.microsoft.skype.teams",
                "appStoreUrl": "https://apps.apple.com/se/app/microsoft-teams/id1113153706",
                "applicableDeviceType": both,
                "minimumSupportedOperatingSystem": ios_min,
            },
            {
                "@odata.type": "#microsoft.graph.androidStoreApp",
                "displayName": "Microsoft Outlook",
                "description": "E-post och kalender.",
                "publisher": "Microsoft Corporation",
                "packageId": "com.microsoft.office.outlook",
                "appStoreUrl": "https://play.google.com/store/apps/details?id=com.microsoft.office.outlook",
                "minimumSupportedOperatingSystem": {
                    "@odata.type": "microsoft.graph.androidMinimumOperatingSystem",
                    "v4_0": False,
                    "v4_0_3": False,
                    "v4_1": False,
                    "v4_2": False,
                    "v4_3": False,
                    "v4_4": False,
                    "v5_0": True,
                    "v5_1": False,
                },
            },
            {
                "@odata.type": "#microsoft.graph.iosLobApp",
                "displayName": "Kassa",
                "description": "Kassasystemet för butikerna i Göteborg och Malmö.",
                "publisher": "Ångström AB",
                "bundleId": "se.angstrom.kassa",
                "fileName": "Kassa-2.4.1.ipa",
                "size": 48_211_337,
                "committedContentVersion": "1",
                "versionNumber": "2.4.1",
                "buildNumber": "241",
                "expirationDateTime": iso(self.now + timedelta(days=200)),
                "applicableDeviceType": both,
                "minimumSupportedOperatingSystem": ios_min,
            },
            {
                "@odata.type": "#microsoft.graph.webApp",
                "displayName": "Intranätet",
                "description": "Nyheter, rutiner och blanketter.",
                "publisher": "IT-avdelningen",
                "appUrl": "https://intra.example.se/",
                "useManagedBrowser": True,
            },
            {
                "@odata.type": "#microsoft.graph.win32LobApp",
                "displayName": "Lagerterminal",
                "description": "Klient för lagerhanteringen (Lager & Logistik).",
                "publisher": "Måleri & Bygg AB",
                "fileName": "Lagerterminal.intunewin",
                "size": 88_104_960,
                "committedContentVersion": "3",
                "installCommandLine": "setup.exe /quiet",
                "uninstallCommandLine": "setup.exe /uninstall /quiet",
                "applicableArchitectures": "x64",
                "setupFilePath": "setup.exe",
                "minimumSupportedWindowsRelease": "1903",
            },
        ]
        for index, spec in enumerate(specs):
            yield {
                "@odata.type": spec["@odata.type"],
                "id": self.gen.guid("intune-app", index),
                **base,
                **spec,
            }


def _us_stamp(moment: datetime) -> str:
    """Intune's default-name timestamp, e.g. ``5/12/2024_8:21 AM``."""
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year}_{hour}:{moment.minute:02d} {half}"


def _android_maker(model: str) -> str:
    first = model.split()[0]
    return {"Samsung": "samsung", "Google": "Google", "Motorola": "motorola"}.get(
        first, "Zebra Technologies" if first == "Zebra" else first
    )


def _windows_serial(rng: random.Random, style: str) -> str:
    if style == "dell":
        return "".join(rng.choices(_SERVICE_TAG, k=7))
    if style == "lenovo":
        return "PF" + "".join(rng.choices(_SERVICE_TAG, k=6))
    if style == "surface":
        return "".join(rng.choices(string.digits, k=12))
    return "5CG" + "".join(rng.choices(_SERVICE_TAG, k=7))
