/**
 * Executables that install software at run time. The package-manager control blocks them by
 * file name, as one switch (a container that installs packages after it started has drifted
 * from its image, whatever the drift control says about the files themselves). Tools that are
 * mostly used to *run* an application (bundler, cargo, poetry, uv) are left out on purpose;
 * npm, yarn and pnpm are in, and a workload started with `npm start` lists them in `except`.
 * @module
 */
export const PACKAGE_MANAGER_NAMES: readonly string[] = [
  "apk", "apt", "apt-get", "aptitude", "composer", "cpan", "cpanm", "dnf", "dpkg", "easy_install",
  "emerge", "gem", "microdnf", "npm", "opkg", "pacman", "pip", "pip2", "pip3", "pip3.8", "pip3.9",
  "pip3.10", "pip3.11", "pip3.12", "pip3.13", "pipx", "pnpm", "rpm", "tdnf", "yarn", "yum", "zypper",
];
