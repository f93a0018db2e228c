"""The project's own checkov policies for CloudFormation, one check per file.

checkov puts this directory on sys.path and executes every module in it; the
shared helpers live in ``iam_documents.py`` and ``sensitive_actions.py`` and are
imported by bare name.
"""
