"""Awards (thi đua, khen thưởng): award forms per province, emulation movements, proposals for collectives and
individuals with eligibility computed from the other modules' facts, council (Hội đồng Thi đua – Khen thưởng)
review, award decisions with their annex (XLSX, DOCX) and the award history of agencies and people.

Decision 19/2014/QĐ-TTg Art. 12.2: UBND tỉnh rewards, or proposes rewards for, collectives and individuals with
good results in applying the QMS.
"""

NAME = "awards"
VERSION = "1.0.0"
