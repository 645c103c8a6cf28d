"""Importing this module registers every area's approval action kinds, jobs hooks and other plug-ins."""

import crm.access.assignments  # noqa: F401
import crm.access.roles  # noqa: F401
