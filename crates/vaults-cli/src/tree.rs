//! `ls --tree`: `/`-separated names drawn as a tree, like `tree` and
//! `pass` draw folders. Each part of a name is shown as `ls` shows names
//! (odd ones quoted and escaped).

use std::collections::BTreeMap;

use crate::names;

/// A folder of the tree: its children by name; a name that is an entry is
/// marked as such (it may also be a folder: `a` and `a/b`).
#[derive(Default)]
struct Node {
    children: BTreeMap<String, Node>,
}

/// The tree of `names`, one line a node.
pub fn render(names: &[String]) -> String {
    let mut root = Node::default();
    for name in names {
        let mut node = &mut root;
        for part in name.split('/') {
            node = node.children.entry(part.to_owned()).or_default();
        }
    }
    let mut out = String::new();
    draw(&root, "", &mut out);
    out
}

fn draw(node: &Node, indent: &str, out: &mut String) {
    let count = node.children.len();
    for (i, (part, child)) in node.children.iter().enumerate() {
        let last = i + 1 == count;
        out.push_str(indent);
        out.push_str(if last { "└── " } else { "├── " });
        out.push_str(&names::shown(part));
        out.push('\n');
        let deeper = format!("{indent}{}", if last { "    " } else { "│   " });
        draw(child, &deeper, out);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_become_a_tree() {
        let names: Vec<String> = ["api/token", "db/password", "db/user", "top"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            super::render(&names),
            "├── api\n│   └── token\n├── db\n│   ├── password\n│   └── user\n└── top\n"
        );
    }
}
