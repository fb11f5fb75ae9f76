"""The command line: the argparse tree and the one error boundary (``main``), one module a command
group (``commands``). Nothing else imports it."""
