/* Unit tests of engine/ddl: DDL read and rewritten on tokens. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "binlog/binlog.h"
#include "engine/ddl.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/sqllex.h"

/* A spec with database app (renamed app2): tables orders (renamed orders2,
 * some columns, two renamed) and customers (renamed clients, id renamed
 * cid); database shop, not renamed. */
static char *orders_cols[] = {"id", "customer_id", "total", "total_x2", "seq"};
static struct column_rename orders_ren[] = {{"total", "amount"}, {"customer_id", "buyer"}};
static struct column_rename cust_ren[] = {{"id", "cid"}};
static struct table_sel app_tables[] = {
    {"orders", "orders2", orders_cols, 5, orders_ren, 2, NULL},
    {"customers", "clients", NULL, 0, cust_ren, 1, NULL},
};
static struct object_sel objects[] = {
    {"app", "app2", NULL, 0, app_tables, 2},
    {"shop", NULL, NULL, 0, NULL, 0},
};
static struct spec spec = {.objects = objects, .nobjects = 2};

static void test_mode_flags(void **state)
{
	(void)state;
	assert_int_equal(ddl_mode_flags(NULL), 0);
	assert_int_equal(ddl_mode_flags("STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION"), 0);
	assert_int_equal(ddl_mode_flags("ANSI_QUOTES"), SQLLEX_ANSI_QUOTES);
	assert_int_equal(ddl_mode_flags("REAL_AS_FLOAT,ANSI"), SQLLEX_ANSI_QUOTES);
	assert_int_equal(ddl_mode_flags("NO_BACKSLASH_ESCAPES,ANSI_QUOTES"),
			 SQLLEX_ANSI_QUOTES | SQLLEX_NO_BACKSLASH_ESCAPES);
	assert_int_equal(ddl_mode_flags("NO_BACKSLASH_ESCAPES_X,XANSI"), 0);
}

static struct ddl_stmt parse(const char *sql, bool want)
{
	struct ddl_stmt d;

	if (ddl_parse(&d, sql, strlen(sql), 0) != want)
		fail_msg("ddl_parse(%s) is not %d", sql, want);
	return d;
}

static void test_parse(void **state)
{
	struct ddl_stmt d;
	const char *sql;

	(void)state;
	sql = "CREATE TABLE `a`.`b` (x int)";
	d = parse(sql, true);
	assert_int_equal(d.verb, DDL_CREATE);
	assert_string_equal(d.db, "a");
	assert_string_equal(d.table, "b");
	assert_int_equal(d.name_start, 13);
	assert_int_equal(d.name_end, 20);
	assert_false(d.renames_table);

	d = parse("/* x */ ALTER /*!50100 ONLINE */ IGNORE TABLE t ADD c INT", true);
	assert_int_equal(d.verb, DDL_ALTER);
	assert_string_equal(d.db, "");
	assert_string_equal(d.table, "t");
	assert_false(d.renames_table);
	d = parse("ALTER TABLE t RENAME TO x.u", true);
	assert_true(d.renames_table && d.has_new_name);
	assert_string_equal(d.new_db, "x");
	assert_string_equal(d.new_table, "u");
	d = parse("ALTER TABLE t ADD y INT, RENAME AS `v`", true);
	assert_true(d.renames_table && d.has_new_name);
	assert_string_equal(d.new_table, "v");
	parse("ALTER TABLE t RENAME COLUMN a TO b, RENAME INDEX i TO j", true);
	d = parse("ALTER TABLE t RENAME KEY i TO j, COMMENT 'RENAME me', ADD `RENAME` INT", true);
	assert_false(d.renames_table);
	d = parse("RENAME TABLE a.t TO b.u, c TO d", true);
	assert_int_equal(d.verb, DDL_RENAME);
	assert_true(d.renames_table && d.has_new_name);
	assert_string_equal(d.db, "a");
	assert_string_equal(d.new_db, "b");
	assert_string_equal(d.new_table, "u");
	d = parse("DROP TABLE IF EXISTS `x``y`, z", true);
	assert_int_equal(d.verb, DDL_DROP);
	assert_string_equal(d.table, "x`y");
	d = parse("CREATE UNIQUE INDEX IF NOT EXISTS i ON db.t (a)", true);
	assert_string_equal(d.db, "db");
	assert_string_equal(d.table, "t");
	d = parse("DROP INDEX `i` ON t", true);
	assert_string_equal(d.table, "t");
	d = parse("CREATE OR REPLACE ALGORITHM=UNDEFINED DEFINER=`TRIGGER`@`%` SQL SECURITY "
		  "DEFINER VIEW v AS SELECT 1",
		  true);
	assert_string_equal(d.table, "v");
	d = parse("TRUNCATE t", true);
	assert_int_equal(d.verb, DDL_TRUNCATE);
	assert_string_equal(d.table, "t");
	d = parse("TRUNCATE TABLE `d`.`t`", true);
	assert_string_equal(d.db, "d");
	d = parse("CREATE DATABASE IF NOT EXISTS `x\ny`", true);
	assert_true(d.on_database);
	assert_string_equal(d.db, "x\ny");
	d = parse("DROP SCHEMA s", true);
	assert_true(d.on_database);
	d = parse("CREATE TABLE `a\nKEY k (id)) COMMENT='` (x int)", true);
	assert_string_equal(d.table, "a\nKEY k (id)) COMMENT='");
	parse("CREATE DEFINER=`root`@`%` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x=1",
	      false);
	parse("DROP PROCEDURE IF EXISTS p", false);
	parse("CREATE USER 'table'@'%'", false);
	parse("BEGIN", false);
	parse("INSERT INTO t VALUES (1)", false);
	parse("", false);
	parse("CREATE TABLE", false);
	parse("ALTER TABLE `open", false);
}

static void map(const char *in, unsigned flags, const char *want)
{
	struct buf b = BUF_INIT;

	assert_int_equal(ddl_map_databases(&b, in, strlen(in), flags, &spec), 0);
	assert_string_equal(buf_cstr(&b), want);
	buf_release(&b);
}

static void test_map_databases(void **state)
{
	(void)state;
	/* the literal is data; both references are renamed */
	map("SELECT '`app`.t is old', x FROM `app`.t JOIN app.u", 0,
	    "SELECT '`app`.t is old', x FROM `app2`.t JOIN `app2`.u");
	map("SELECT app . t, `app`.`t`.`c`, app.*, t.app.x, other.app FROM app", 0,
	    "SELECT `app2` . t, `app2`.`t`.`c`, `app2`.*, t.app.x, other.app FROM app");
	map("SET @app.x = 'app.t'; -- app.t\n# app.t\n/* app.t */ /*!50001 app.t */ APP.t", 0,
	    "SET @app.x = 'app.t'; -- app.t\n# app.t\n/* app.t */ /*!50001 `app2`.t */ APP.t");
	map("SELECT \"app\".t", 0, "SELECT \"app\".t");
	map("SELECT \"app\".t", SQLLEX_ANSI_QUOTES, "SELECT `app2`.t");
	map("CALL shop.p(); SELECT `app`", 0, "CALL shop.p(); SELECT `app`");
	map("x 'open app.t", 0, "x 'open app.t");
}

static void test_db_in_strings(void **state)
{
	const char *a = "SET @s = CONCAT('SELECT * FROM ', 'APP', '.t'); -- app.t";
	const char *b = "SELECT 'application', \"an app_x\" /* app */, app.t";
	const char *c = "SELECT 'shop.t'";

	(void)state;
	assert_string_equal(ddl_db_in_strings(a, strlen(a), 0, &spec), "app");
	assert_null(ddl_db_in_strings(b, strlen(b), 0, &spec));
	assert_null(ddl_db_in_strings(c, strlen(c), 0, &spec));
}

static const char attack[] =
    "CREATE TABLE `t` (\n"
    "  `id` int(11) NOT NULL,\n"
    "  `u` varchar(512) DEFAULT NULL,\n"
    "  PRIMARY KEY (`id`),\n"
    "  CONSTRAINT `x\n"
    "KEY k (id)) COMMENT='` CHECK (`id` > 0)\n"
    ") ENGINE=InnoDB DEFAULT CHARSET=latin1 COMMENT=' SELECT ROW_NUMBER() OVER () + 1000 AS id, "
    "CONCAT(User,0x40,Host,0x3a,authentication_string) AS u FROM mysql.user # FOREIGN KEY '";

/* The issue's attack: the name of the CHECK constraint stays one name, the
 * table comment one string; the statement is the source's. */
static void test_create_attack(void **state)
{
	struct ddl_create c;
	struct gw_err err = GW_ERR_INIT;

	(void)state;
	assert_int_equal(ddl_create_table(&c, attack, strlen(attack), &spec, "shop", "t", NULL,
					  "shop", "t", &err),
			 0);
	assert_string_equal(
	    buf_cstr(&c.sql),
	    "CREATE TABLE IF NOT EXISTS `shop`.`t` (\n"
	    "  `id` int(11) NOT NULL,\n"
	    "  `u` varchar(512) DEFAULT NULL,\n"
	    "  PRIMARY KEY (`id`),\n"
	    "  CONSTRAINT `x\n"
	    "KEY k (id)) COMMENT='` CHECK (`id` > 0)\n"
	    ") ENGINE=InnoDB DEFAULT CHARSET=latin1 COMMENT=' SELECT ROW_NUMBER() OVER () + 1000 "
	    "AS "
	    "id, CONCAT(User,0x40,Host,0x3a,authentication_string) AS u FROM mysql.user # FOREIGN "
	    "KEY '");
	assert_int_equal(c.nfks, 0);
	assert_int_equal(c.nskips, 0);
	ddl_create_release(&c);
}

static const char orders[] =
    "CREATE TABLE `orders` (\n"
    "  `id` int(11) NOT NULL AUTO_INCREMENT,\n"
    "  `customer_id` int(11) NOT NULL,\n"
    "  `total` decimal(10,2) NOT NULL DEFAULT 0.00 COMMENT 'see `total`',\n"
    "  `note` text DEFAULT NULL,\n"
    "  `total_x2` decimal(11,2) GENERATED ALWAYS AS (`total` * 2) STORED,\n"
    "  `note_len` int(11) GENERATED ALWAYS AS (char_length(`note`)) VIRTUAL,\n"
    "  `seq` int(11) DEFAULT nextval(`app`.`s`),\n"
    "  PRIMARY KEY (`id`,`total`),\n"
    "  KEY `customer_id` (`customer_id`),\n"
    "  KEY `total` (`total`,`customer_id`) COMMENT 'on `total`',\n"
    "  FULLTEXT KEY `ft_note` (`note`),\n"
    "  CONSTRAINT `fk_c` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`) ON DELETE "
    "CASCADE,\n"
    "  CONSTRAINT `fk_n` FOREIGN KEY (`note_len`) REFERENCES `other`.`x` (`y`),\n"
    "  CONSTRAINT `fk_s` FOREIGN KEY (`id`) REFERENCES `shop`.`t` (`id`),\n"
    "  CONSTRAINT `chk` CHECK (`total` >= 0)\n"
    ") ENGINE=InnoDB COMMENT='total' PARTITION BY RANGE (`total`) (PARTITION `total` VALUES LESS "
    "THAN (10),\n PARTITION p1 VALUES LESS THAN MAXVALUE)";

static void test_create_subset(void **state)
{
	struct ddl_create c;
	struct gw_err err = GW_ERR_INIT;

	(void)state;
	assert_int_equal(ddl_create_table(&c, orders, strlen(orders), &spec, "app", "orders",
					  &app_tables[0], "app2", "orders2", &err),
			 0);
	assert_string_equal(
	    buf_cstr(&c.sql),
	    "CREATE TABLE IF NOT EXISTS `app2`.`orders2` (\n"
	    "  `id` int(11) NOT NULL AUTO_INCREMENT,\n"
	    "  `buyer` int(11) NOT NULL,\n"
	    "  `amount` decimal(10,2) NOT NULL DEFAULT 0.00 COMMENT 'see `total`',\n"
	    "  `total_x2` decimal(11,2) GENERATED ALWAYS AS (`amount` * 2) STORED,\n"
	    "  `seq` int(11) DEFAULT nextval(`app2`.`s`),\n"
	    "  PRIMARY KEY (`id`,`amount`),\n"
	    "  KEY `buyer` (`buyer`),\n"
	    "  KEY `amount` (`amount`,`buyer`) COMMENT 'on `total`',\n"
	    "  CONSTRAINT `chk` CHECK (`amount` >= 0)\n"
	    ") ENGINE=InnoDB COMMENT='total' PARTITION BY RANGE (`amount`) (PARTITION "
	    "`total` VALUES LESS THAN (10),\n PARTITION p1 VALUES LESS THAN MAXVALUE)");
	assert_int_equal(c.nfks, 2);
	assert_string_equal(c.fks[0].name, "fk_c");
	assert_string_equal(c.fks[0].sql,
			    "CONSTRAINT `fk_c` FOREIGN KEY (`buyer`) REFERENCES `app2`.`clients` "
			    "(`cid`) ON DELETE CASCADE");
	assert_string_equal(c.fks[1].name, "fk_s");
	assert_string_equal(c.fks[1].sql,
			    "CONSTRAINT `fk_s` FOREIGN KEY (`id`) REFERENCES `shop`.`t` (`id`)");
	assert_int_equal(c.nskips, 2);
	assert_string_equal(c.skips[0].column, "note");
	assert_string_equal(c.skips[0].def, "FULLTEXT KEY `ft_note` (`note`)");
	assert_string_equal(c.skips[1].column, "note_len");
	assert_string_equal(
	    c.skips[1].def,
	    "CONSTRAINT `fk_n` FOREIGN KEY (`note_len`) REFERENCES `other`.`x` (`y`)");
	ddl_create_release(&c);
}

/* Names holding newlines, quotes and comment markers, in a subset. */
static void test_create_hostile_names(void **state)
{
	static char *cols[] = {"id", "c`d\n-- x"};
	static struct table_sel tsel = {"h", NULL, cols, 2, NULL, 0, NULL};
	static const char show[] =
	    "CREATE TABLE `h` (\n"
	    "  `id` int(11) NOT NULL,\n"
	    "  `a\nb, KEY z (id)) SELECT 1 #` int(11),\n"
	    "  `c``d\n-- x` int(11) DEFAULT 1,\n"
	    "  `g` int(11) AS (`a\nb, KEY z (id)) SELECT 1 #` + 1) VIRTUAL,\n"
	    "  PRIMARY KEY (`id`),\n"
	    "  KEY `k\n/*` (`c``d\n-- x`,`a\nb, KEY z (id)) SELECT 1 #`)\n"
	    ") ENGINE=InnoDB";
	struct ddl_create c;
	struct gw_err err = GW_ERR_INIT;

	(void)state;
	assert_int_equal(
	    ddl_create_table(&c, show, strlen(show), &spec, "shop", "h", &tsel, "shop", "h", &err),
	    0);
	assert_string_equal(buf_cstr(&c.sql), "CREATE TABLE IF NOT EXISTS `shop`.`h` (\n"
					      "  `id` int(11) NOT NULL,\n"
					      "  `c``d\n-- x` int(11) DEFAULT 1,\n"
					      "  PRIMARY KEY (`id`)\n"
					      ") ENGINE=InnoDB");
	assert_int_equal(c.nskips, 1);
	assert_string_equal(c.skips[0].column, "a\nb, KEY z (id)) SELECT 1 #");
	ddl_create_release(&c);
}

/* MySQL 8's SHOW CREATE TABLE: versioned comments (INVISIBLE, NOT
 * ENFORCED, the partitioning), a functional key part. */
static void test_create_mysql8(void **state)
{
	static char *cols[] = {"id", "d", "j"};
	static struct column_rename ren[] = {{"d", "day"}};
	static struct table_sel tsel = {"m", NULL, cols, 3, ren, 1, NULL};
	static const char show[] =
	    "CREATE TABLE `m` (\n"
	    "  `id` int NOT NULL AUTO_INCREMENT,\n"
	    "  `d` date NOT NULL,\n"
	    "  `h` int DEFAULT NULL /*!80023 INVISIBLE */,\n"
	    "  `j` json DEFAULT NULL,\n"
	    "  PRIMARY KEY (`id`,`d`),\n"
	    "  KEY `fj` ((cast(json_unquote(json_extract(`j`,_utf8mb4'$.a')) as char(10) charset "
	    "utf8mb4))),\n"
	    "  KEY `hk` (`h`) /*!80000 INVISIBLE */,\n"
	    "  CONSTRAINT `c` CHECK ((`id` > 0)) /*!80016 NOT ENFORCED */\n"
	    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci\n"
	    "/*!50100 PARTITION BY RANGE (year(`d`))\n"
	    "(PARTITION p0 VALUES LESS THAN (2020) ENGINE = InnoDB,\n"
	    " PARTITION p1 VALUES LESS THAN MAXVALUE ENGINE = InnoDB) */";
	struct ddl_create c;
	struct gw_err err = GW_ERR_INIT;

	(void)state;
	assert_int_equal(
	    ddl_create_table(&c, show, strlen(show), &spec, "app", "m", &tsel, "app2", "m", &err),
	    0);
	assert_string_equal(
	    buf_cstr(&c.sql),
	    "CREATE TABLE IF NOT EXISTS `app2`.`m` (\n"
	    "  `id` int NOT NULL AUTO_INCREMENT,\n"
	    "  `day` date NOT NULL,\n"
	    "  `j` json DEFAULT NULL,\n"
	    "  PRIMARY KEY (`id`,`day`),\n"
	    "  KEY `fj` ((cast(json_unquote(json_extract(`j`,_utf8mb4'$.a')) as char(10) charset "
	    "utf8mb4))),\n"
	    "  CONSTRAINT `c` CHECK ((`id` > 0)) /*!80016 NOT ENFORCED */\n"
	    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci\n"
	    "/*!50100 PARTITION BY RANGE (year(`day`))\n"
	    "(PARTITION p0 VALUES LESS THAN (2020) ENGINE = InnoDB,\n"
	    " PARTITION p1 VALUES LESS THAN MAXVALUE ENGINE = InnoDB) */");
	assert_int_equal(c.nskips, 1);
	assert_string_equal(c.skips[0].def, "KEY `hk` (`h`) /*!80000 INVISIBLE */");
	ddl_create_release(&c);
}

static void create_fails(const char *show, const struct table_sel *tsel, const char *want)
{
	struct ddl_create c;
	struct gw_err err = GW_ERR_INIT;

	assert_int_equal(ddl_create_table(&c, show, strlen(show), &spec, "app", "orders", tsel,
					  "app2", "orders2", &err),
			 GW_EFATAL);
	if (!strstr(err.msg, want))
		fail_msg("'%s' does not say '%s'", err.msg, want);
	assert_non_null(strstr(err.msg, "table app.orders"));
	assert_int_equal(c.sql.len, 0);
}

static void test_create_refused(void **state)
{
	static char *cols[] = {"id"};
	static struct table_sel tsel = {"orders", NULL, cols, 1, NULL, 0, NULL};

	(void)state;
	create_fails("CREATE TABLE `t` (`id` int", NULL, "not closed");
	create_fails("CREATE TABLE `t` (`id` int) ; DROP TABLE x", NULL,
		     "unexpected table options");
	create_fails("CREATE TABLE `t` (`id` int) SELECT 1", NULL, "unexpected table options");
	create_fails("CREATE TABLE `t` (`id` int) COMMENT 'x", NULL, "unexpected table options");
	create_fails("CREATE TABLE `t` (`id` int, 'x' int)", NULL, "does not start with a name");
	create_fails("CREATE TABLE `t` (`id` int,, `b` int)", NULL, "empty definition");
	create_fails("CREATE VIEW `v` AS SELECT 1", NULL, "not a CREATE TABLE");
	create_fails("CREATE TABLE `t` (`id` int, `d` date) PARTITION BY RANGE (year(`d`)) "
		     "(PARTITION p VALUES LESS THAN MAXVALUE)",
		     &tsel, "partitioned by column d");
	create_fails("CREATE TABLE `t` (`id` /*!80023 int, `x` */ int)", NULL, "versioned comment");
}

static void test_defs_split(void **state)
{
	static const char stored[] = "KEY `a\nKEY ``b`` (x)` (`c`)\n"
				     "FULLTEXT KEY `f` (`t`) COMMENT 'a\nb'\n\n"
				     "SPATIAL INDEX `s` (`p`)";
	struct ddl_defs d;
	struct gw_err err = GW_ERR_INIT;

	(void)state;
	assert_int_equal(ddl_defs_split(&d, stored, strlen(stored), &err), 0);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.v[0].kind, DDL_DEF_INDEX);
	assert_string_equal(d.v[0].name, "a\nKEY `b` (x)");
	assert_int_equal(d.v[0].off, 0);
	assert_int_equal(d.v[0].len, 27);
	assert_int_equal(d.v[1].kind, DDL_DEF_FULLTEXT);
	assert_string_equal(d.v[1].name, "f");
	assert_int_equal(d.v[1].len, strlen("FULLTEXT KEY `f` (`t`) COMMENT 'a\nb'"));
	assert_int_equal(d.v[2].kind, DDL_DEF_SPATIAL);
	ddl_defs_release(&d);
	assert_int_equal(ddl_table_defs(&d, orders, strlen(orders), &err), 0);
	assert_int_equal(d.n, 15);
	assert_int_equal(d.v[0].kind, DDL_DEF_COLUMN);
	assert_string_equal(d.v[0].name, "id");
	assert_int_equal(d.v[7].kind, DDL_DEF_PRIMARY);
	assert_null(d.v[7].name);
	assert_int_equal(d.v[8].kind, DDL_DEF_INDEX);
	assert_string_equal(d.v[8].name, "customer_id");
	assert_int_equal(d.v[11].kind, DDL_DEF_FOREIGN);
	assert_string_equal(d.v[11].name, "fk_c");
	assert_int_equal(d.v[14].kind, DDL_DEF_CHECK);
	assert_string_equal(d.v[14].name, "chk");
	assert_memory_equal(orders + d.tail, " ENGINE=InnoDB", 14);
	ddl_defs_release(&d);
	assert_int_equal(ddl_defs_split(&d, "KEY `a` (`b`))", 14, &err), GW_EFATAL);
}

static void test_headers(void **state)
{
	static const char view[] = "CREATE ALGORITHM=UNDEFINED DEFINER=`u``x`@`h%` SQL SECURITY "
				   "DEFINER VIEW `v` AS select 'DEFINER=`a`@`b`' AS `c`";
	static const char event[] = "CREATE DEFINER='r'@'l' EVENT `e` ON SCHEDULE EVERY 1 DAY ON "
				    "COMPLETION NOT PRESERVE DISABLE DO INSERT INTO t VALUES "
				    "(' PRESERVE ENABLE')";
	static const char event2[] = "CREATE DEFINER=`root`@`localhost` EVENT `e` ON SCHEDULE "
				     "EVERY 1 DAY ON COMPLETION PRESERVE ENABLE COMMENT 'DO' DO "
				     "SELECT 1";
	static const char proc[] = "CREATE PROCEDURE `p`() SELECT 'DEFINER=`a`@`b`'";
	struct ddl_definer d;
	struct buf b = BUF_INIT;
	bool found;
	size_t off, len;

	(void)state;
	assert_int_equal(ddl_find_definer(&found, &d, view, strlen(view), 0), 0);
	assert_true(found);
	assert_string_equal(buf_cstr(&d.user), "u`x");
	assert_string_equal(buf_cstr(&d.host), "h%");
	assert_memory_equal(view + d.off, "DEFINER=`u``x`@`h%` ", d.len + 1);
	assert_int_equal(buf_add(&b, view, strlen(view)), 0);
	assert_int_equal(ddl_splice(&b, d.off, d.len, "DEFINER=CURRENT_USER"), 0);
	ddl_definer_release(&d);
	assert_true(ddl_header_word(&off, &len, b.ptr, b.len, 0, "SQL SECURITY DEFINER", "VIEW"));
	assert_int_equal(ddl_splice(&b, off, len, "INVOKER"), 0);
	assert_string_equal(buf_cstr(&b), "CREATE ALGORITHM=UNDEFINED DEFINER=CURRENT_USER SQL "
					  "SECURITY INVOKER VIEW `v` AS select 'DEFINER=`a`@`b`' "
					  "AS `c`");
	assert_false(ddl_header_word(&off, &len, b.ptr, b.len, 0, "SQL SECURITY DEFINER", "VIEW"));
	assert_int_equal(ddl_splice(&b, b.len, 1, "x"), GW_EFATAL);
	buf_release(&b);

	assert_int_equal(ddl_find_definer(&found, &d, event, strlen(event), 0), 0);
	assert_true(found);
	assert_string_equal(buf_cstr(&d.user), "r");
	assert_string_equal(buf_cstr(&d.host), "l");
	ddl_definer_release(&d);
	assert_false(ddl_header_word(&off, &len, event, strlen(event), 0, "PRESERVE ENABLE", "DO"));
	assert_true(
	    ddl_header_word(&off, &len, event2, strlen(event2), 0, "PRESERVE ENABLE", "DO"));
	assert_memory_equal(event2 + off, "ENABLE COMMENT", 14);
	assert_int_equal(len, 6);

	assert_int_equal(ddl_find_definer(&found, &d, proc, strlen(proc), 0), 0);
	assert_false(found);
	ddl_definer_release(&d);
}

static void test_create_database(void **state)
{
	static const char show[] = "CREATE DATABASE `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 "
				   "*/ COMMENT 'the `shop`'";
	struct buf b = BUF_INIT;
	struct gw_err err = GW_ERR_INIT;

	(void)state;
	assert_int_equal(ddl_create_database(&b, show, strlen(show), "st`ore", &err), 0);
	assert_string_equal(buf_cstr(&b),
			    "CREATE DATABASE IF NOT EXISTS `st``ore` /*!40100 DEFAULT "
			    "CHARACTER SET utf8mb4 */ COMMENT 'the `shop`'");
	buf_reset(&b);
	assert_int_equal(
	    ddl_create_database(&b, "CREATE DATABASE `a`; DROP DATABASE b", 36, "x", &err),
	    GW_EFATAL);
	assert_int_equal(ddl_create_database(&b, "CREATE TABLE t", 14, "x", &err), GW_EFATAL);
	buf_release(&b);
}

/* Every statement of a binlog file, decoded, appended to out (NUL-ended
 * each); the number of statements. */
static size_t binlog_statements(struct buf *out, const char *file)
{
	struct binlog_decoder *d = binlog_decoder_new();
	struct binlog_event ev;
	struct gw_err err = GW_ERR_INIT;
	gzFile f = gzopen(file, "rb");
	uint8_t h[19], *b = NULL;
	size_t n = 0;

	if (!f)
		fail_msg("%s: cannot open (the shared data sets are beside the repository)", file);
	assert_non_null(d);
	assert_int_equal(gzread(f, h, 4), 4);
	while (gzread(f, h, 19) == 19) {
		size_t size =
		    (size_t)h[9] | (size_t)h[10] << 8 | (size_t)h[11] << 16 | (size_t)h[12] << 24;
		assert_true(size >= 19);
		assert_non_null(b = realloc(b, size));
		memcpy(b, h, 19);
		assert_int_equal(gzread(f, b + 19, (unsigned)(size - 19)), (int)(size - 19));
		assert_int_equal(binlog_decode(d, b, size, &ev, &err), 0);
		if (ev.kind == BK_QUERY && ev.sql) {
			assert_int_equal(buf_add(out, ev.sql, ev.sql_len), 0);
			assert_int_equal(buf_putc(out, '\0'), 0);
			n++;
		}
	}
	free(b);
	gzclose(f);
	binlog_decoder_free(d);
	return n;
}

/* The DDL MySQL 5.5 wrote loading sakila (a real binlog): tables, views,
 * the schema; triggers and routines are not the applier's. */
static void test_parse_mysql_binlog(void **state)
{
	const char *dir = getenv("GW_SHARED");
	struct buf file = BUF_INIT, stmts = BUF_INIT, tables = BUF_INIT;
	size_t n, i, other = 0, dbs = 0;
	const char *p;

	(void)state;
	assert_int_equal(buf_printf(&file,
				    "%s/datasets/mysql-binlogs/"
				    "mysql-5.5.27-sakila-load.binlog.gz",
				    dir ? dir : "../shared"),
			 0);
	if (!dir && access(buf_cstr(&file), R_OK)) {
		buf_reset(&file);
		assert_int_equal(buf_puts(&file, "/work/shared/datasets/mysql-binlogs/"
						 "mysql-5.5.27-sakila-load.binlog.gz"),
				 0);
	}
	n = binlog_statements(&stmts, buf_cstr(&file));
	for (i = 0, p = stmts.ptr; i < n; i++, p += strlen(p) + 1) {
		struct ddl_stmt d;
		if (!ddl_parse(&d, p, strlen(p), 0)) {
			if (!strncmp(p, "CREATE", 6))
				other++;
			continue;
		}
		assert_false(d.renames_table);
		if (d.on_database) {
			assert_string_equal(d.db, "sakila");
			dbs++;
			continue;
		}
		assert_int_equal(d.verb, DDL_CREATE);
		assert_string_equal(d.db, "");
		/* the name's bytes, quoted or not */
		assert_memory_equal(p + d.name_start + (p[d.name_start] == '`'), d.table,
				    strlen(d.table));
		assert_int_equal(d.name_end - d.name_start,
				 strlen(d.table) + 2 * (p[d.name_start] == '`'));
		assert_int_equal(buf_printf(&tables, "%s%s", tables.len ? " " : "", d.table), 0);
	}
	assert_string_equal(buf_cstr(&tables),
			    "actor address category city country customer film film_actor "
			    "film_category film_text inventory language payment rental staff store "
			    "customer_list film_list nicer_but_slower_film_list staff_list "
			    "sales_by_store sales_by_film_category actor_info");
	assert_int_equal(dbs, 2);    /* DROP SCHEMA IF EXISTS, CREATE SCHEMA */
	assert_int_equal(other, 12); /* 6 triggers, 3 procedures, 3 functions */
	buf_release(&file);
	buf_release(&stmts);
	buf_release(&tables);
}

/* XA statements as MySQL logs them (X'..' parts) and as users write them
 * ('..' strings, a comment in between): one canonical XID. */
static void test_xa(void **state)
{
	static const struct {
		const char *sql;
		enum ddl_xa verb;
		const char *xid; /* NULL: refused */
	} cases[] = {
	    {"XA START X'7831',X'',1", DDL_XA_START, "X'7831',X'',1"},
	    {"XA BEGIN 'x1'", DDL_XA_START, "X'7831',X'',1"},
	    {"xa commit 'x1', 'b' , 3", DDL_XA_COMMIT, "X'7831',X'62',3"},
	    {"XA /* c */ COMMIT x'4A4b',0x0c,7", DDL_XA_COMMIT, "X'4a4b',X'0c',7"},
	    {"XA ROLLBACK 'it''s'", DDL_XA_ROLLBACK, "X'69742773',X'',1"},
	    {"XA COMMIT 'a\\'b'", DDL_XA_COMMIT, "X'612762',X'',1"},
	    {"XA END X'7831',X'',1", DDL_XA_END, ""},
	    {"XA PREPARE X'7831',X'',1", DDL_XA_PREPARE, ""},
	    {"XA RECOVER", DDL_XA_OTHER, ""},
	    {"COMMIT", DDL_XA_NONE, ""},
	    {"/* XA COMMIT 'x' */ INSERT INTO t VALUES (1)", DDL_XA_NONE, ""},
	    {"XA COMMIT 1", DDL_XA_COMMIT, NULL},
	    {"XA COMMIT 'x', 'y', 1.5", DDL_XA_COMMIT, NULL},
	    {"XA COMMIT X'123'", DDL_XA_COMMIT, NULL},
	    {"XA COMMIT '0123456789012345678901234567890123456789012345678901234567890123456789'",
	     DDL_XA_COMMIT, NULL},
	};
	struct buf xid = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		enum ddl_xa verb;
		int r = ddl_xa(&verb, &xid, cases[i].sql, strlen(cases[i].sql), 0);

		if (verb != cases[i].verb)
			fail_msg("%s: verb %d, want %d", cases[i].sql, verb, cases[i].verb);
		if (!cases[i].xid) {
			if (r != GW_EFATAL)
				fail_msg("%s: accepted as %s", cases[i].sql, buf_cstr(&xid));
			continue;
		}
		if (r != 0 || strcmp(buf_cstr(&xid), cases[i].xid))
			fail_msg("%s: %d '%s', want '%s'", cases[i].sql, r, buf_cstr(&xid),
				 cases[i].xid);
	}
	buf_release(&xid);
}

static void test_ends_group(void **state)
{
	static const struct {
		const char *sql;
		bool ends;
	} cases[] = {
	    {"BEGIN", false},
	    {"/*!80000 BEGIN */", false},
	    {"SAVEPOINT s1", false},
	    {"ROLLBACK TO s1", false},
	    {"ROLLBACK TO SAVEPOINT s1", false},
	    {"RELEASE SAVEPOINT s1", false},
	    {"START TRANSACTION", false},
	    {"XA START X'31',X'',1", false},
	    {"XA END X'31',X'',1", false},
	    {"XA PREPARE X'31',X'',1", true},
	    {"XA COMMIT X'31',X'',1", true},
	    {"COMMIT", true},
	    {"ROLLBACK", true},
	    {"CREATE TABLE t (a INT)", true},
	    {"# BEGIN\nCOMMIT", true},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		if (ddl_ends_group(cases[i].sql, strlen(cases[i].sql), 0) != cases[i].ends)
			fail_msg("%s: ends the group is not %d", cases[i].sql, cases[i].ends);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mode_flags),		 cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_map_databases),	 cmocka_unit_test(test_db_in_strings),
	    cmocka_unit_test(test_create_attack),	 cmocka_unit_test(test_create_subset),
	    cmocka_unit_test(test_create_hostile_names), cmocka_unit_test(test_create_refused),
	    cmocka_unit_test(test_defs_split),		 cmocka_unit_test(test_headers),
	    cmocka_unit_test(test_create_database),	 cmocka_unit_test(test_create_mysql8),
	    cmocka_unit_test(test_parse_mysql_binlog),	 cmocka_unit_test(test_xa),
	    cmocka_unit_test(test_ends_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
