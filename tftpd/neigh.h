/* --client-root mac: the hardware address of a client, from the kernel's
 * neighbour table (ARP for IPv4, neighbour discovery for IPv6), read over
 * rtnetlink. The kernel learns it from the client's own ARP request or
 * neighbour solicitation for the server's address, sent just before its
 * TFTP request. An in-memory answer from the kernel, bounded in time:
 * the loop does not wait on anything outside the machine. */
#ifndef TFTPD_NEIGH_H
#define TFTPD_NEIGH_H

#include <stddef.h>
#include <sys/socket.h>

/* The client's Ethernet address as PXELINUX names its files:
 * "01-aa-bb-cc-dd-ee-ff" (ARP type 1, lower case), into out (cap bytes).
 * 0, or -1 if the table has no usable entry for it. */
int neigh_mac(const struct sockaddr *sa, char *out, size_t cap);

#endif
