"""Pure formats: pointer files, readme frontmatter, URLs and safe YAML."""
