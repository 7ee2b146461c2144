"""The pieces every domain uses and that know no domain: errors, the clock, text checks and
formatting, paging, the audit record, dialect differences, files, spreadsheets, outbound HTTP,
photos, bulk rows, all-or-nothing blocks."""
