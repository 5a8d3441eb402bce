"""The benchmark report (`make bench`): figures measured in one run, printed as one table, never asserted.

Sections: per-message processing time of the callback (ours vs the sha1 + AES + parse floor vs wechatpy), cold
import of each function vs `import boto3` + one client, DynamoDB requests and write units per message, token
requests per wave of cold callers, the built layer, and local-stack throughput. `python -m wxfunnel_tools.bench
--help` lists the knobs; the report also goes to bench-results/latest.md.
"""
