"""WeChat's wire: signatures and the AES envelope, hostile documents, typed messages, passive replies, and `limits` (the one definition of WeChat's value shapes). Imports nothing of the product."""
