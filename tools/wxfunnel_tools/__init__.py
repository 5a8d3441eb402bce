"""Developer tools of wxfunnel: the local stack, the WeChat sandbox, the CLI, the demo (never deployed to Lambda)."""
