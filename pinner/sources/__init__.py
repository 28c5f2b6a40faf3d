"""What pinner reads in the user's repository: files, ``uses:`` sites, images, comments."""
