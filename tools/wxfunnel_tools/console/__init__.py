"""The operator console (`wxfunnel console`): a static page and a local server that signs its API calls."""

from wxfunnel_tools.console.server import ConsoleServer, Signer, serve
from wxfunnel_tools.console.signing import signer_for, sigv4_signer

__all__ = ["ConsoleServer", "Signer", "serve", "signer_for", "sigv4_signer"]
