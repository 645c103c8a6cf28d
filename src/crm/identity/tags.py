"""The identity area's audit action tags (`area:subject:action`)."""

from enum import StrEnum


class IdentityTag(StrEnum):
    ACCOUNT_LOCKOUT = "identity:account:lockout"
    MFA_ENROL = "identity:mfa:enrol"
    MFA_RESET = "identity:mfa:reset"
    PASSWORD_CHANGE = "identity:password:change"
    PASSWORD_RESET = "identity:password:reset"
    SESSION_EXPIRE = "identity:session:expire"
    SESSION_SIGNOUT = "identity:session:signout"
    SIGNIN_FAIL = "identity:signin:fail"
    SIGNIN_SUCCESS = "identity:signin:success"
    SSO_LINK = "identity:sso:link"
