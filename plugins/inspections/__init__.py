"""Inspections: the yearly inspection of how state agencies apply their QMS (Circular 26/2014/TT-BKHCN,
Art. 33–39): the year plan (Mẫu 19) and its coverage rule, a risk-based planner, team decisions (Mẫu 20) with the
Art. 40 member check, visits, the Art. 36 checklist, records (Mẫu 21) with findings, corrective actions to
closure, paper inspections and the November summary (Art. 38).
"""

NAME = "inspections"
VERSION = "1.0.0"
