"""MSSanté: the mail gateway between this platform and the other operators."""
