"""A1111's scripts that fan a form out into many tasks (issue 19): `xyz` (X/Y/Z plot),
`matrix` (Prompt matrix), `from_file` (Prompts from file or textbox), `wildcards` (dynamic
prompts). Pure: they turn text into form values; submitting is the caller's."""
