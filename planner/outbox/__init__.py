"""The outbox: messages written in the transaction that causes them, sent later by the mail worker."""
