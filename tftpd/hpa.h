/* The in.tftpd personality: tftp-hpa 5.2's command line and defaults,
 * turned into our configuration. */
#ifndef TFTPD_HPA_H
#define TFTPD_HPA_H

#include "settings.h"

/* Run as "in.tftpd" (a link), or with --hpa-compat as the first option. */
int hpa_invoked(int argc, char **argv);
/* Parse tftp-hpa's options and directories into cfg; a usage error exits
 * 64 with one line, an unknown option included. */
void hpa_parse_args(int argc, char **argv, struct tftpd_config *cfg);

#endif
