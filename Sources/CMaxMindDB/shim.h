// Debian's libmaxminddb-dev, seen only by the GeoIP target. One lookup per query: the address bytes in,
// the few fields topology uses out, read from the mmap'd file without allocation (libmaxminddb's
// MMDB_lookup_sockaddr and MMDB_get_value only read the map; both are thread-safe on one MMDB_s).
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <maxminddb.h>

typedef struct {
    int status;             // MMDB_SUCCESS or an MMDB_* error of the lookup
    bool found;
    uint16_t netmask;       // the database network's prefix, in the family of the address asked
    char continent[4];      // continent.code ("EU"), NUL-terminated, "" when absent
    char country[4];        // country.iso_code ("DE")
    char subdivision[4];    // subdivisions[0].iso_code ("BY"): ISO 3166-2 without the country
    bool has_location;
    double latitude;
    double longitude;
} cairn_geo_record;

static inline void cairn_geo_copy(MMDB_entry_s *entry, char out[4], const char *const *path) {
    MMDB_entry_data_s data;
    out[0] = 0;
    if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data) return;
    if (data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size == 0 || data.data_size > 3) return;
    memcpy(out, data.utf8_string, data.data_size);
    out[data.data_size] = 0;
}

static inline bool cairn_geo_double(MMDB_entry_s *entry, const char *const *path, double *out) {
    MMDB_entry_data_s data;
    if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data) return false;
    if (data.type == MMDB_DATA_TYPE_DOUBLE) { *out = data.double_value; return true; }
    if (data.type == MMDB_DATA_TYPE_FLOAT) { *out = data.float_value; return true; }
    return false;
}

/// Looks up 4 or 16 address bytes. An IPv4 address in an IPv6 database is looked up as libmaxminddb does
/// (its IPv4 subtree); the netmask is then given in IPv4 bits.
static inline void cairn_geo_lookup(const MMDB_s *mmdb, const uint8_t *bytes, int count, cairn_geo_record *out) {
    static const char *const continent[] = {"continent", "code", NULL};
    static const char *const country[] = {"country", "iso_code", NULL};
    static const char *const subdivision[] = {"subdivisions", "0", "iso_code", NULL};
    static const char *const latitude[] = {"location", "latitude", NULL};
    static const char *const longitude[] = {"location", "longitude", NULL};
    memset(out, 0, sizeof(*out));
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    const struct sockaddr *sa;
    if (count == 4) {
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        memcpy(&sin.sin_addr, bytes, 4);
        sa = (const struct sockaddr *)&sin;
    } else {
        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        memcpy(&sin6.sin6_addr, bytes, 16);
        sa = (const struct sockaddr *)&sin6;
    }
    int error = MMDB_SUCCESS;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(mmdb, sa, &error);
    out->status = error;
    if (error != MMDB_SUCCESS) return;
    int netmask = r.netmask;
    // In an IPv6 tree, IPv4 addresses sit under ::/96: give their netmask in IPv4 bits.
    if (count == 4 && mmdb->metadata.ip_version == 6) netmask = netmask >= 96 ? netmask - 96 : 0;
    out->netmask = (uint16_t)netmask;
    out->found = r.found_entry;
    if (!r.found_entry) return;
    cairn_geo_copy(&r.entry, out->continent, continent);
    cairn_geo_copy(&r.entry, out->country, country);
    cairn_geo_copy(&r.entry, out->subdivision, subdivision);
    double lat = 0, lon = 0;
    if (cairn_geo_double(&r.entry, latitude, &lat) && cairn_geo_double(&r.entry, longitude, &lon)) {
        out->has_location = true;
        out->latitude = lat;
        out->longitude = lon;
    }
}

/// The metadata fields shown by explain and the logs.
static inline const char *cairn_geo_database_type(const MMDB_s *mmdb) { return mmdb->metadata.database_type; }
static inline uint64_t cairn_geo_build_epoch(const MMDB_s *mmdb) { return mmdb->metadata.build_epoch; }
static inline uint16_t cairn_geo_ip_version(const MMDB_s *mmdb) { return mmdb->metadata.ip_version; }
static inline uint64_t cairn_geo_node_count(const MMDB_s *mmdb) { return mmdb->metadata.node_count; }
