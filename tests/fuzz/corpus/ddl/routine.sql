CREATE DEFINER=`u``x`@`%` PROCEDURE `p`(IN a INT)
BEGIN
  -- a comment
  # another
  SET @s = CONCAT('SELECT * FROM ', "app.t", ' WHERE x = \'', a, '\'');
  PREPARE st FROM @s; /* done */ SELECT @@global.max_connections, 0x1F, b'01', X'0a', 1.5e-3, .5, 1--1;
END