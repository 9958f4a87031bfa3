#!/usr/bin/python3
"""Reference SigV4 signatures from botocore (the AWS SDK for Python) for the S3 store's signer test.

Signs the requests the S3 store makes (path-style PUT with If-None-Match and a UTF-8 body, a ListObjectsV2 GET
with an encoded prefix, delimiter and continuation token, a HEAD on AWS's regional endpoint), each with a session
token, using botocore's own S3SigV4Auth at the current time; the time it used is stored with each signature.
test/s3-store.test.ts signs the same requests with apps/bench/src/grid/s3.ts and expects the same header.

Regenerate from apps/bench (pip install botocore; checked with botocore 1.43.11):
    python3 scripts/sigv4_botocore.py > test/fixtures/sigv4-botocore.json
"""
import hashlib
import json

import botocore
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CREDS = Credentials("AKIAFAKE0000TEST", "se/cr+et/key0123456789", "session/token==")
REGION = "eu-west-3"
BODY = '{"cell": "é ✓"}\n'
CASES = [
    ("PUT", "http://127.0.0.1:9000/grid-results/study/cells/0123abcd.json", BODY, {"content-type": "application/json", "if-none-match": "*"}),
    ("GET", "http://127.0.0.1:9000/grid-results?list-type=2&prefix=study%2Fcells%2F&delimiter=%2F&continuation-token=ab%2Bc%3D", "", {}),
    ("HEAD", "https://s3.eu-west-3.amazonaws.com/my.bucket/p/failed/x.json", "", {}),
]

out = []
for method, url, body, headers in CASES:
    data = body.encode("utf-8")
    req = AWSRequest(method=method, url=url, data=data, headers=dict(headers))
    req.headers["X-Amz-Content-SHA256"] = hashlib.sha256(data).hexdigest()
    S3SigV4Auth(CREDS, "s3", REGION).add_auth(req)
    out.append({"method": method, "url": url, "body": body, "headers": headers, "amzDate": req.headers["X-Amz-Date"], "authorization": req.headers["Authorization"]})
print(json.dumps({"botocore": botocore.__version__, "accessKeyId": CREDS.access_key, "secretAccessKey": CREDS.secret_key, "sessionToken": CREDS.token, "region": REGION, "cases": out}, indent=2, ensure_ascii=False))
