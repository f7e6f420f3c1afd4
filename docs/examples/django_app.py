"""A Django backend that already logs its users in hands them chat tokens.

Put the view in one of your apps and the route in your urls.py. Django's CsrfViewMiddleware
guards the POST: browsers send the csrftoken in the X-CSRFToken header.
"""

import os

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.http import require_POST

from backchannel.tokens import AccessToken
from backchannel.tokens.grants import ChatGrant


def chat_token(identity):
    token = AccessToken(
        os.environ["TWILIO_ACCOUNT_SID"],
        os.environ["TWILIO_API_KEY"],
        os.environ["TWILIO_API_SECRET"],
        identity=identity,
        ttl=3600,
    )
    token.add_grant(ChatGrant(service_sid=os.environ["TWILIO_CHAT_SERVICE_SID"]))
    return {"token": token.to_jwt(), "identity": identity}


@require_POST
def token(request):
    if not request.user.is_authenticated:  # your existing login decides
        return JsonResponse({"error": "unauthenticated"}, status=401)
    return JsonResponse(chat_token(request.user.get_username()))


urlpatterns = [path("token", token)]
