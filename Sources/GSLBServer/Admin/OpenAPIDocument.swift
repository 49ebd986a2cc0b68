// Generated from docs/openapi.yaml by scripts/gen-openapi; do not edit.
enum OpenAPIDocument {
    static let json = "{}"
}
