"""Identity: staff users, patient sign-in links, API clients and tokens → an `Actor`.

The public surface: what the composition root, the gateway, the CLI and the mail adapters
use. Inside, one sub-package per aggregate (`users/`, `sessions/`, `api_keys/`, `oauth/`),
one unit of work over all of them (`ports.IdentityUnitOfWork`, `repository.py`).
"""

from clinicflow.identity.api_keys.service import ApiKeys
from clinicflow.identity.api_keys.views import ApiKeyView
from clinicflow.identity.domain.mail import compose
from clinicflow.identity.errors import InsufficientScope, TokenInvalid
from clinicflow.identity.oauth.service import CACHE_FOR, SIGNING_CONTEXT, TokenService
from clinicflow.identity.ports import IdentityUnitOfWork, Mailer
from clinicflow.identity.repository import SqlIdentityUnitOfWork
from clinicflow.identity.service import Authenticator
from clinicflow.identity.sessions.service import PatientLinks, SessionStore
from clinicflow.identity.sessions.views import OpenSession, SessionOwner
from clinicflow.identity.users.errors import SecondFactorRequired, SignInBackoff
from clinicflow.identity.users.service import TOTP_CONTEXT, UserService
from clinicflow.identity.users.views import NewUser, UserView

__all__ = [
    "CACHE_FOR",
    "SIGNING_CONTEXT",
    "TOTP_CONTEXT",
    "ApiKeyView",
    "ApiKeys",
    "Authenticator",
    "IdentityUnitOfWork",
    "InsufficientScope",
    "Mailer",
    "NewUser",
    "OpenSession",
    "PatientLinks",
    "SecondFactorRequired",
    "SessionOwner",
    "SessionStore",
    "SignInBackoff",
    "SqlIdentityUnitOfWork",
    "TokenInvalid",
    "TokenService",
    "UserService",
    "UserView",
    "compose",
]
