"""The identity area's audit action tags (`area:subject:action`)."""

from enum import StrEnum

from crm.core.labels import LABELS


class IdentityTag(StrEnum):
    ACCOUNT_LOCKOUT = "identity:account:lockout"
    PORTAL_LOCKOUT = "identity:portal:lockout"
    PORTAL_PASSWORD_RESET = "identity:portal:reset"
    PORTAL_SIGNIN = "identity:portal:signin"
    PORTAL_SIGNIN_FAIL = "identity:portal:fail"
    PORTAL_VERIFY = "identity:portal:verify"
    MFA_ENROL = "identity:mfa:enrol"
    MFA_RESET = "identity:mfa:reset"
    PASSWORD_CHANGE = "identity:password:change"
    PASSWORD_RESET = "identity:password:reset"
    PREFERENCES_CHANGE = "identity:preferences:change"
    SESSION_EXPIRE = "identity:session:expire"
    SESSION_SIGNOUT = "identity:session:signout"
    SIGNIN_FAIL = "identity:signin:fail"
    SIGNIN_SUCCESS = "identity:signin:success"
    SSO_LINK = "identity:sso:link"


LABELS.add(
    "audit_action",
    {
        IdentityTag.ACCOUNT_LOCKOUT: "Account locked out",
        IdentityTag.PORTAL_LOCKOUT: "Client portal account locked out",
        IdentityTag.PORTAL_PASSWORD_RESET: "Client portal password reset",
        IdentityTag.PORTAL_SIGNIN: "Client signed in to the portal",
        IdentityTag.PORTAL_SIGNIN_FAIL: "Client portal sign-in failed",
        IdentityTag.PORTAL_VERIFY: "Client e-mail address confirmed",
        IdentityTag.MFA_ENROL: "Two-factor enrolled",
        IdentityTag.MFA_RESET: "Two-factor reset",
        IdentityTag.PASSWORD_CHANGE: "Password changed",
        IdentityTag.PASSWORD_RESET: "Password reset",
        IdentityTag.PREFERENCES_CHANGE: "Preferences changed",
        IdentityTag.SESSION_EXPIRE: "Session expired",
        IdentityTag.SESSION_SIGNOUT: "Signed out",
        IdentityTag.SIGNIN_FAIL: "Sign-in failed",
        IdentityTag.SIGNIN_SUCCESS: "Signed in",
        IdentityTag.SSO_LINK: "Single sign-on linked",
    },
)
