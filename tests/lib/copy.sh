# Helpers for the data tests (sourced after harness.sh).
#
#   copy_spec FILE NAME TYPES OBJECTS_YAML [EXTRA]   a spec from src to dst
#   fingerprint SERVER 'SELECT ...'                    sha256 of the ordered
#                                                      result, every column HEX'd
copy_spec() {
	local file=$1 name=$2 types=$3 objects=$4 extra=${5:-}
	{
		printf 'apiVersion: godwit/v1\nkind: Migration\nmetadata:\n  name: %s\nspec:\n' "$name"
		printf '  source:\n'
		spec_endpoint src | sed 's/^/  /'
		printf '  destination:\n'
		spec_endpoint dst | sed 's/^/  /'
		printf '  migrationTypes: [%s]\n' "$types"
		printf '  objects:\n%s\n' "$objects"
		if [ -n "$extra" ]; then printf "%s\n" "$extra"; fi
	} >"$file"
}

fingerprint() {
	mdb "$1" -N -e "$2" | sha256sum | cut -d' ' -f1
}

# hexsel DB TABLE ORDER: SELECT HEX(c1), HEX(c2)... of every column.
hexsel() {
	local server=$1 db=$2 tbl=$3 order=$4 cols
	cols=$(mdb_q "$server" "SELECT GROUP_CONCAT(CONCAT('HEX(\`', COLUMN_NAME, '\`)') ORDER BY ORDINAL_POSITION)
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$db' AND TABLE_NAME='$tbl'")
	echo "SELECT $cols FROM \`$db\`.\`$tbl\` ORDER BY $order"
}

# server_key FILE DIR: the spec's source (its first tls line) reaches a
# MySQL 8 server without TLS with the server's RSA public key, DIR's
# public_key.pem: the double's caching_sha2_password cache is empty at
# start and after a restart, and without TLS a full authentication needs
# the key (godwit is otherwise refused until the cache is warm).
server_key() {
	sed -i "0,\\|tls: {mode: disabled}|s|tls: {mode: disabled}|tls: {mode: disabled, serverPublicKey: $2/public_key.pem}|" "$1"
}
