"""The economy desk's reads (patient-linked rows through lyfta.access.rows)."""
