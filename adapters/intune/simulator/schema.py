"""What each served entity type has: properties, the default set Graph returns without
``$select``, what a PATCH may change, and what ``$filter`` accepts (by default, or only as an
advanced query). Sources: ``resources/user.md``, ``resources/group.md``,
``resources/intune-devices-manageddevice.md``, ``includes/filter-directory-objects.md``
(microsoftgraph/microsoft-graph-docs-contrib); see ``docs/intune-contract.md``.
"""

from __future__ import annotations

from .odata import DIRECTORY, INTUNE, Resource

EQ_IN_START = frozenset({"eq", "in", "startswith"})
EQ_IN = frozenset({"eq", "in"})
NE = frozenset({"ne"})

# ------------------------------------------------------------------------------ users

USER_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)
USER_PROPERTIES = frozenset(
    {
        *USER_DEFAULT,
        "accountEnabled",
        "companyName",
        "createdDateTime",
        "department",
        "employeeId",
        "mailNickname",
        "passwordProfile",
        "usageLocation",
    }
)
USER_WRITABLE = frozenset(USER_PROPERTIES - {"id", "createdDateTime"})
USER_REQUIRED = (
    "accountEnabled",
    "displayName",
    "mailNickname",
    "userPrincipalName",
    "passwordProfile",
)
USER_TEXT = frozenset(
    {
        "displayName",
        "givenName",
        "surname",
        "mail",
        "mailNickname",
        "userPrincipalName",
        "mobilePhone",
        "jobTitle",
        "department",
        "companyName",
        "officeLocation",
        "preferredLanguage",
        "usageLocation",
        "employeeId",
    }
)

USER = Resource(
    name="user",
    label="User",
    dialect=DIRECTORY,
    properties=USER_PROPERTIES,
    default_filter={
        "displayName": EQ_IN_START,
        "givenName": EQ_IN_START,
        "surname": EQ_IN_START,
        "mail": EQ_IN_START,
        "mailNickname": EQ_IN_START,
        "userPrincipalName": EQ_IN_START,
        "department": EQ_IN_START,
        "usageLocation": EQ_IN_START,
        "employeeId": frozenset({"eq", "startswith"}),
        "jobTitle": EQ_IN,
        "id": frozenset({"eq"}),
        "accountEnabled": EQ_IN,
        "businessPhones": frozenset({"eq"}),
        "createdDateTime": frozenset({"eq", "ge", "le"}),
    },
    advanced_filter={
        **{
            prop: NE
            for prop in (
                "displayName",
                "givenName",
                "surname",
                "mailNickname",
                "department",
                "usageLocation",
                "employeeId",
                "jobTitle",
                "id",
                "accountEnabled",
                "createdDateTime",
            )
        },
        "mail": frozenset({"ne", "endswith"}),
        "userPrincipalName": frozenset({"ne", "endswith"}),
        "mobilePhone": frozenset({"eq", "ne", "in", "startswith"}),
        "companyName": frozenset({"eq", "ne", "in", "startswith"}),
        "officeLocation": frozenset({"eq", "ne", "in", "startswith"}),
    },
    orderable=frozenset({"displayName", "userPrincipalName"}),
)

# ------------------------------------------------------------------------------ groups

GROUP_DEFAULT = (
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "creationOptions",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "visibility",
    "onPremisesProvisioningErrors",
)
GROUP_PROPERTIES = frozenset(GROUP_DEFAULT)
GROUP_CREATABLE = frozenset(
    {
        "description",
        "displayName",
        "groupTypes",
        "isAssignableToRole",
        "mailEnabled",
        "mailNickname",
        "membershipRule",
        "membershipRuleProcessingState",
        "preferredDataLocation",
        "preferredLanguage",
        "securityEnabled",
        "theme",
        "visibility",
        "classification",
    }
)
GROUP_UPDATABLE = frozenset(
    {
        "description",
        "displayName",
        "mailNickname",
        "preferredLanguage",
        "securityEnabled",
        "mailEnabled",
        "theme",
        "visibility",
        "classification",
        "membershipRule",
    }
)
GROUP_REQUIRED = ("displayName", "mailEnabled", "mailNickname", "securityEnabled")

GROUP = Resource(
    name="group",
    label="Group",
    dialect=DIRECTORY,
    properties=GROUP_PROPERTIES,
    default_filter={
        "displayName": EQ_IN_START,
        "mailNickname": EQ_IN_START,
        "mail": frozenset({"eq", "startswith"}),
        "securityEnabled": frozenset({"eq"}),
        "mailEnabled": frozenset({"eq"}),
        "id": EQ_IN,
        "groupTypes": frozenset({"eq"}),
        "createdDateTime": frozenset({"eq", "ge", "le"}),
    },
    advanced_filter={
        "displayName": NE,
        "mailNickname": NE,
        "mail": frozenset({"ne", "endswith"}),
        "securityEnabled": NE,
        "mailEnabled": NE,
        "id": NE,
        "description": frozenset({"eq", "ne", "startswith"}),
    },
    orderable=frozenset({"displayName"}),
)

# A member list holds users and groups: a $select there may name properties of either.
DIRECTORY_OBJECT = Resource(
    name="directoryObject",
    label="DirectoryObject",
    dialect=DIRECTORY,
    properties=USER_PROPERTIES | GROUP_PROPERTIES,
    default_filter=USER.default_filter,
    advanced_filter=USER.advanced_filter,
)

# ------------------------------------------------------------------------------ devices

DEVICE_PROPERTIES = frozenset(
    {
        "id",
        "userId",
        "deviceName",
        "managedDeviceOwnerType",
        "deviceActionResults",
        "enrolledDateTime",
        "lastSyncDateTime",
        "operatingSystem",
        "complianceState",
        "jailBroken",
        "managementAgent",
        "osVersion",
        "easActivated",
        "easDeviceId",
        "easActivationDateTime",
        "azureADRegistered",
        "deviceEnrollmentType",
        "activationLockBypassCode",
        "emailAddress",
        "azureADDeviceId",
        "deviceRegistrationState",
        "deviceCategoryDisplayName",
        "isSupervised",
        "exchangeLastSuccessfulSyncDateTime",
        "exchangeAccessState",
        "exchangeAccessStateReason",
        "remoteAssistanceSessionUrl",
        "remoteAssistanceSessionErrorDetails",
        "isEncrypted",
        "userPrincipalName",
        "model",
        "manufacturer",
        "imei",
        "complianceGracePeriodExpirationDateTime",
        "serialNumber",
        "phoneNumber",
        "androidSecurityPatchLevel",
        "userDisplayName",
        "configurationManagerClientEnabledFeatures",
        "wiFiMacAddress",
        "deviceHealthAttestationState",
        "subscriberCarrier",
        "meid",
        "totalStorageSpaceInBytes",
        "freeStorageSpaceInBytes",
        "managedDeviceName",
        "partnerReportedThreatState",
        "requireUserEnrollmentApproval",
        "managementCertificateExpirationDate",
        "iccid",
        "udid",
        "notes",
        "ethernetMacAddress",
        "physicalMemoryInBytes",
    }
)
# "Return default value null [0] in LIST managedDevices. Real value only returned in single
# device GET call with device id and included in select parameter."
DEVICE_LIST_HIDDEN: dict[str, object] = {
    "activationLockBypassCode": None,
    "iccid": None,
    "udid": None,
    "notes": None,
    "ethernetMacAddress": None,
    "physicalMemoryInBytes": 0,
}
DEVICE_WRITABLE = frozenset({"managedDeviceOwnerType", "managedDeviceName", "notes"})
OWNER_TYPES = frozenset({"unknown", "company", "personal"})

_DEVICE_EQ = frozenset({"eq", "ne", "in"})
DEVICE = Resource(
    name="managedDevice",
    label="managedDevice",
    dialect=INTUNE,
    properties=DEVICE_PROPERTIES,
    default_filter={
        **{
            prop: _DEVICE_EQ
            for prop in (
                "id",
                "userId",
                "serialNumber",
                "operatingSystem",
                "osVersion",
                "userPrincipalName",
                "emailAddress",
                "azureADDeviceId",
                "imei",
                "complianceState",
                "managedDeviceOwnerType",
                "manufacturer",
                "model",
                "managementAgent",
                "deviceEnrollmentType",
                "isEncrypted",
                "isSupervised",
            )
        },
        "deviceName": frozenset({"eq", "ne", "in", "startswith", "contains"}),
        "lastSyncDateTime": frozenset({"eq", "ge", "le", "gt", "lt"}),
        "enrolledDateTime": frozenset({"eq", "ge", "le", "gt", "lt"}),
    },
    orderable=frozenset({"deviceName", "lastSyncDateTime", "enrolledDateTime", "serialNumber"}),
)

# ------------------------------------------------------------------------------ apps

APP_BASE = (
    "id",
    "displayName",
    "description",
    "publisher",
    "largeIcon",
    "createdDateTime",
    "lastModifiedDateTime",
    "isFeatured",
    "privacyInformationUrl",
    "informationUrl",
    "owner",
    "developer",
    "notes",
    "publishingState",
)
APP = Resource(
    name="mobileApp",
    label="mobileApp",
    dialect=INTUNE,
    properties=frozenset(APP_BASE),
    default_filter={
        "displayName": frozenset({"eq", "ne", "startswith", "contains"}),
        "publisher": frozenset({"eq", "ne"}),
        "id": frozenset({"eq", "in"}),
        "isFeatured": frozenset({"eq"}),
        "publishingState": frozenset({"eq", "ne"}),
    },
    orderable=frozenset({"displayName"}),
)

# ------------------------------------------------------------------------------ actions

# action (as matched, lower case) -> (name as spelled, parameters it accepts)
_ACTIONS: tuple[tuple[str, dict[str, type]], ...] = (
    ("remoteLock", {}),
    ("resetPasscode", {}),
    ("syncDevice", {}),
    ("retire", {}),
    (
        "wipe",
        {
            "keepEnrollmentData": bool,
            "keepUserData": bool,
            "macOsUnlockCode": str,
            "obliterationBehavior": str,
            "persistEsimDataPlan": bool,
        },
    ),
    ("rebootNow", {}),
    ("shutDown", {}),
    ("locateDevice", {}),
    ("disableLostMode", {}),
    ("bypassActivationLock", {}),
    ("recoverPasscode", {}),
    ("requestRemoteAssistance", {}),
    ("cleanWindowsDevice", {"keepUserData": bool}),
    ("logoutSharedAppleDeviceActiveUser", {}),
    ("windowsDefenderScan", {"quickScan": bool}),
    ("windowsDefenderUpdateSignatures", {}),
)
DEVICE_ACTIONS: dict[str, tuple[str, dict[str, type]]] = {
    name.lower(): (name, params) for name, params in _ACTIONS
}
OBLITERATION = frozenset({"default", "doNotObliterate", "obliterateWithWarning", "always"})
