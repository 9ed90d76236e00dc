"""The claims the test provider puts in its ID tokens, after Inera's IdP: the HSA id as
`employeeHsaId` (here the provider's username), and `acr`/`amr` saying how the person signed in
(here the provider user's first name: "loa3" for a SITHS card, anything else a weaker method)."""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator


class HsaValidator(OAuth2Validator):
    # Every claim below is released with the openid scope.
    oidc_claim_scope = None

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        strong = user.first_name == "loa3"
        claims: dict[str, Any] = {
            "acr": "http://id.sambi.se/loa/loa3" if strong else "http://id.sambi.se/loa/loa2",
            "amr": ["sc", "pin"] if strong else ["pwd"],
        }
        if user.last_name != "no-claim":
            claims["employeeHsaId"] = user.username
        return claims
