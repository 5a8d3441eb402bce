"""wxfunnel: the shared vocabulary of every wxfunnel Lambda function (WeChat clients, protocol, domain, storage)."""
