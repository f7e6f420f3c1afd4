"""The errors of the chat domain, each with the Twilio code and HTTP status it answers with.

    ChatError
    ├── InvalidParameterError      20001 400  a parameter is missing, malformed or out of range
    ├── AuthenticationError        20003 401  no credentials, or wrong ones
    ├── NotAuthorizedError         50107 403  the user's roles lack the permission
    ├── NotFoundError              20404 404  no such resource (or another account's)
    │   ├── ServiceNotFoundError   20404 404
    │   ├── RoleNotFoundError      50400 404 (Twilio: 50400 role not found)
    │   ├── ChannelNotFoundError   50300 404
    │   ├── UserNotFoundError      20404 404
    │   ├── MemberNotFoundError    50402 404 (Twilio: 50402 member not found)
    │   ├── MessageNotFoundError   50500 404 (Twilio: 50500 message not found)
    │   └── InviteNotFoundError    50601 404 (Twilio: 50601 invite not found)
    ├── ConflictError              50000 409  a uniqueness rule would break
    │   ├── UserExistsError        50201 409
    │   ├── UniqueNameTakenError   50307 409
    │   ├── MemberExistsError      50404 409
    │   ├── InviteExistsError      50212 409 (Twilio: 50212 user already invited)
    │   └── RoleExistsError        50402 409
    ├── BodyTooLongError           50504 400
    └── LimitExceededError         50208 400  a service limit is reached (Twilio: 50208 user
        │                                     channel limit exceeded)
        └── ChannelFullError       50403 400  (Twilio: 50403 channel member limit exceeded)

A resource of another account is reported exactly like one that does not exist.
"""

from __future__ import annotations

from backchannel.errors import BackchannelError


class ChatError(BackchannelError):
    """Base of every error the chat domain raises."""

    code = 20001
    status = 400


class InvalidParameterError(ChatError):
    code = 20001
    status = 400


class AuthenticationError(ChatError):
    code = 20003
    status = 401


class NotAuthorizedError(ChatError):
    code = 50107
    status = 403

    def __init__(self, message: str = "User not authorized for command", **kwargs: int) -> None:
        super().__init__(message, **kwargs)


class NotFoundError(ChatError):
    code = 20404
    status = 404


class ServiceNotFoundError(NotFoundError):
    code = 20404


class RoleNotFoundError(NotFoundError):
    code = 50400


class ChannelNotFoundError(NotFoundError):
    code = 50300


class UserNotFoundError(NotFoundError):
    code = 20404


class MemberNotFoundError(NotFoundError):
    code = 50402


class MessageNotFoundError(NotFoundError):
    code = 50500


class InviteNotFoundError(NotFoundError):
    code = 50601


class ConflictError(ChatError):
    code = 50000
    status = 409


class UserExistsError(ConflictError):
    code = 50201


class UniqueNameTakenError(ConflictError):
    code = 50307


class MemberExistsError(ConflictError):
    code = 50404


class InviteExistsError(ConflictError):
    code = 50212


class RoleExistsError(ConflictError):
    code = 50402


class BodyTooLongError(ChatError):
    code = 50504
    status = 400


class LimitExceededError(ChatError):
    code = 50208
    status = 400


class ChannelFullError(LimitExceededError):
    code = 50403
