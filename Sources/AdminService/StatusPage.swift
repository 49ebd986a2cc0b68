// The status page: `GET /` on the admin API. Plain HTML, CSS and a small script against the JSON API,
// served from the binary (no build step, nothing downloaded). The page itself holds no data: the script
// asks `/v1/health`, `/v1/overrides`, `/v1/drills` and `/v1/nodes` with the read token the user gives it
// (kept in the tab's sessionStorage only), and refreshes every 2 s. Served with a CSP that allows only
// this server's own script and style, so nothing the API returns can run as code (all of it is set as text).

enum StatusPage {
    static let headers: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]

    static let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Cairn status</title>
        <link rel="stylesheet" href="/status.css">
        <script src="/status.js" defer></script>
        </head>
        <body>
        <header><h1>Cairn</h1><span id="node"></span><span id="updated"></span></header>
        <form id="signin" hidden>
          <label for="token">Read token</label>
          <input id="token" type="password" autocomplete="off" placeholder="cairn_…" required>
          <button type="submit">Sign in</button>
          <p id="signin-error" class="error"></p>
        </form>
        <main id="status" hidden>
          <p id="error" class="error"></p>
          <section><h2>Pools and members</h2><table id="members"></table></section>
          <section><h2>Recent transitions</h2><table id="transitions"></table></section>
          <section><h2>Overrides</h2><table id="overrides"></table></section>
          <section><h2>Drills</h2><table id="drills"></table></section>
          <section><h2>Nodes</h2><table id="nodes"></table></section>
          <p><button id="signout" type="button">Sign out</button></p>
        </main>
        </body>
        </html>

        """

    static let css = """
        [hidden] { display: none !important; }
        body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5em 2em; color: #1d2125; background: #fafbfc; }
        header { display: flex; gap: 1.5em; align-items: baseline; border-bottom: 1px solid #d0d7de; margin-bottom: 1em; }
        h1 { font-size: 1.4em; margin: .5em 0; } h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { text-align: left; padding: .25em .6em; border-bottom: 1px solid #eaeef2; white-space: nowrap; }
        th { background: #f0f3f6; font-weight: 600; }
        td.up { color: #116329; font-weight: 600; } td.down { color: #b42318; font-weight: 600; }
        td.unknown, td.drain { color: #8a6100; font-weight: 600; }
        .error { color: #b42318; } .muted { color: #6e7781; }
        form { margin: 2em 0; display: flex; gap: .6em; align-items: center; flex-wrap: wrap; }
        input { font: inherit; padding: .3em .5em; min-width: 28em; }

        """

    static let script = #"""
        "use strict";
        // Cairn status page: reads the JSON API with a read token; every value is set as text.
        const key = "cairn-status-token";
        let timer = null;

        function token() { return sessionStorage.getItem(key); }

        async function get(path) {
          const r = await fetch(path, { headers: { "Authorization": "Bearer " + token() }, cache: "no-store" });
          if (r.status === 401 || r.status === 403) { throw Object.assign(new Error("the token was refused (" + r.status + ")"), { auth: true }); }
          if (!r.ok) { throw new Error(path + ": HTTP " + r.status); }
          return r.json();
        }

        function cell(row, text, cls) {
          const td = document.createElement("td");
          td.textContent = text === null || text === undefined ? "-" : String(text);
          if (cls) { td.className = cls; }
          row.appendChild(td);
        }

        function table(id, head, rows) {
          const t = document.getElementById(id);
          t.replaceChildren();
          const hr = document.createElement("tr");
          for (const h of head) { const th = document.createElement("th"); th.textContent = h; hr.appendChild(th); }
          t.appendChild(hr);
          if (rows.length === 0) {
            const tr = document.createElement("tr");
            cell(tr, "none", "muted");
            tr.firstChild.colSpan = head.length;
            t.appendChild(tr);
          }
          for (const r of rows) {
            const tr = document.createElement("tr");
            for (const c of r) { Array.isArray(c) ? cell(tr, c[0], c[1]) : cell(tr, c); }
            t.appendChild(tr);
          }
        }

        function stateClass(s) { return ["up", "down", "unknown", "drain"].includes(s) ? s : ""; }
        function forcedHow(m) {
          const how = [m.forced_drill != null ? "drill " + m.forced_drill : null,
                       m.forced_override != null ? "override " + m.forced_override : null].filter(x => x);
          return how.length ? " (" + how.join(", ") + ")" : "";
        }

        async function refresh() {
          try {
            const [health, overrides, drills, nodes] = await Promise.all(
              [get("/v1/health"), get("/v1/overrides"), get("/v1/drills"), get("/v1/nodes")]);
            const members = health.members || [];
            table("members", ["pool", "type", "address", "site", "admin", "real", "forced", "effective", "eligible", "since", "load"],
              members.map(m => [m.pool, m.type, m.address, m.site, m.admin, [m.real + (m.real_stale ? " (stale)" : ""), stateClass(m.real)],
                [m.forced ? m.forced + (m.forced_by ? " by " + m.forced_by + forcedHow(m) : "") : "-", stateClass(m.forced)],
                [m.effective, stateClass(m.effective)], m.eligible ? "yes" : "no", m.since, m.load]));
            const changed = members.filter(m => m.since).sort((a, b) => (a.since < b.since ? 1 : -1)).slice(0, 10);
            table("transitions", ["since", "pool", "address", "real state now", "flaps"],
              changed.map(m => [m.since, m.pool, m.address, [m.real, stateClass(m.real)], m.flaps]));
            table("overrides", ["id", "scope", "target", "state", "until", "reason", "by"],
              (overrides.overrides || []).map(o => [o.id, o.scope, o.target, [o.state, stateClass(o.state)],
                o.permanent ? "permanent" : o.expires_at, o.reason, o.principal]));
            table("drills", ["id", "target", "mode", "status", "verdict", "time to failover (s)"],
              (drills.drills || []).slice(0, 10).map(d => [d.id, d.target, d.mode, d.status, d.verdict, d.time_to_failover]));
            const list = nodes.nodes || [];
            table("nodes", ["name", "state", "dns", "version", "generation", "heartbeat age (s)"],
              list.map(n => [n.name + (n.this ? " (this)" : ""), [n.state, n.state === "live" ? "up" : "down"], (n.dns || []).join(" "),
                n.version, n.generation, n.heartbeat_age_seconds]));
            const self = list.find(n => n.this);
            document.getElementById("node").textContent = self ? "node " + self.name : "";
            document.getElementById("updated").textContent = "updated " + new Date().toISOString().replace(/\.\d+Z$/, "Z");
            document.getElementById("error").textContent = "";
          } catch (e) {
            if (e.auth) { signOut(e.message); return; }
            document.getElementById("error").textContent = String(e.message || e);
          }
        }

        function show() {
          document.getElementById("signin").hidden = true;
          document.getElementById("status").hidden = false;
          refresh();
          timer = setInterval(refresh, 2000);
        }

        function signOut(why) {
          sessionStorage.removeItem(key);
          if (timer) { clearInterval(timer); timer = null; }
          document.getElementById("status").hidden = true;
          document.getElementById("signin").hidden = false;
          document.getElementById("signin-error").textContent = why || "";
        }

        document.addEventListener("DOMContentLoaded", () => {
          // A token in the fragment (never sent to the server) signs in, then leaves the address bar.
          const m = location.hash.match(/token=([A-Za-z0-9_-]+)/);
          if (m) { sessionStorage.setItem(key, m[1]); history.replaceState(null, "", location.pathname); }
          document.getElementById("signin").addEventListener("submit", ev => {
            ev.preventDefault();
            sessionStorage.setItem(key, document.getElementById("token").value.trim());
            show();
          });
          document.getElementById("signout").addEventListener("click", () => signOut(""));
          if (token()) { show(); } else { signOut(""); }
        });

        """#
}
