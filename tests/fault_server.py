"""A shop server that dies the moment Stripe has charged, before it records the payment.

Run as a script by ``test_faults``: it stands in for a worker killed mid-checkout.
"""

from __future__ import annotations

import os
import signal
import sys

import uvicorn

from buybutton_server import Settings, create_app
from buybutton_server.payments.stripe_provider import StripePaymentProvider

charge = StripePaymentProvider.charge


def charge_then_die(self, request):  # type: ignore[no-untyped-def]
    result = charge(self, request)
    print(f"charged {result.reference}; dying", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    StripePaymentProvider.charge = charge_then_die  # type: ignore[method-assign]
    settings = Settings.from_env()
    print("fault server ready", flush=True)
    uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
