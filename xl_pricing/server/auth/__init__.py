"""Authentication providers of xlwings Server, overridden for xl-pricing.

xlwings Server imports ``auth.<provider>`` from its project directory first (this folder's
parent, ``XLWINGS_PROJECT_DIR``) and falls back to its own.  Only ``custom`` is provided
here; ``entraid`` (Microsoft Entra ID) is xlwings Server's own.
"""
