CREATE TABLE `t` (
  `id` int(11) NOT NULL,
  `u` varchar(512) DEFAULT NULL,
  PRIMARY KEY (`id`),
  CONSTRAINT `x
KEY k (id)) COMMENT='` CHECK (`id` > 0)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COMMENT=' SELECT 1 FROM mysql.user # FOREIGN KEY '