"""moto's server, taking one DynamoDB request at a time.

moto's DynamoDB backend is not safe for concurrent requests: a transaction iterates a table
that another request is changing, and the server answers 500 ("dictionary changed size during
iteration"). DynamoDB itself serves concurrent requests, and the planner and the executors
send them, so the emulator serialises them. Other services are left concurrent: an SQS receive
may wait (long polling) and must not hold up the rest.
"""

import sys
import threading

from moto.moto_server import werkzeug_app
from moto.server import main

_dynamodb = threading.Lock()
_dispatch = werkzeug_app.DomainDispatcherApplication.__call__


def _one_dynamodb_request_at_a_time(self, environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
        with _dynamodb:
            # The body is produced inside the lock: the response may be a lazy iterable.
            return list(_dispatch(self, environ, start_response))
    return _dispatch(self, environ, start_response)


werkzeug_app.DomainDispatcherApplication.__call__ = _one_dynamodb_request_at_a_time

if __name__ == "__main__":
    sys.exit(main())
